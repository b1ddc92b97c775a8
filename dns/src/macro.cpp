#include "macro.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <vector>

namespace postern::dns::spf {
namespace {

constexpr std::size_t kMaxName = 253;

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
bool is_delimiter(char c) {
    return c == '.' || c == '-' || c == '+' || c == ',' || c == '/' || c == '_' || c == '=';
}
bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool letter_allowed(char letter, MacroUse use) {
    switch (lower(letter)) {
        case 's':
        case 'l':
        case 'o':
        case 'd':
        case 'i':
        case 'p':
        case 'h':
        case 'v':
            return true;
        case 'c':
        case 'r':
        case 't':
            return use != MacroUse::domain_spec;
        default:
            return false;
    }
}

// One parsed "%{...}" (or %% %_ %-).
struct Macro {
    char letter = 0;  // 0 for %% %_ %-; then `literal` holds the expansion
    std::string_view literal;
    bool escape = false;  // uppercase letter: URL-escape the value
    bool reverse = false;
    std::size_t keep = 0;  // rightmost parts to keep; 0 = all
    std::string_view delimiters;
};

// Parses the macro at text[pos] == '%'. Returns the offset past it, or 0 on a syntax error.
std::size_t parse_macro(std::string_view text, std::size_t pos, MacroUse use, Macro& m) {
    if (pos + 1 >= text.size()) return 0;
    switch (text[pos + 1]) {
        case '%':
            m = Macro{}, m.literal = "%";
            return pos + 2;
        case '_':
            m = Macro{}, m.literal = " ";
            return pos + 2;
        case '-':
            m = Macro{}, m.literal = "%20";
            return pos + 2;
        case '{':
            break;
        default:
            return 0;
    }
    std::size_t i = pos + 2;
    if (i >= text.size() || !letter_allowed(text[i], use)) return 0;
    m = Macro{};
    m.letter = lower(text[i]);
    m.escape = text[i] >= 'A' && text[i] <= 'Z';
    ++i;
    if (i < text.size() && is_digit(text[i])) {
        std::size_t n = 0;
        for (; i < text.size() && is_digit(text[i]); ++i)
            n = std::min<std::size_t>(n * 10 + (text[i] - '0'), 1000);
        if (n == 0) return 0;  // "If a DIGIT is specified, the value MUST be nonzero."
        m.keep = n;
    }
    if (i < text.size() && lower(text[i]) == 'r') {
        m.reverse = true;
        ++i;
    }
    const std::size_t d = i;
    while (i < text.size() && is_delimiter(text[i])) ++i;
    m.delimiters = text.substr(d, i - d);
    if (i >= text.size() || text[i] != '}') return 0;
    return i + 1;
}

bool literal_allowed(char c, MacroUse use) {
    if (c == ' ') return use == MacroUse::explanation;
    return c >= 0x21 && c <= 0x7e && c != '%';
}

// Appends the value, URL-escaped (§7.3: all but the unreserved characters) when `escape`.
void append_value(std::string& out, std::string_view value, bool escape) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    if (!escape) {
        out.append(value);
        return;
    }
    for (char c : value) {
        const bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) ||
                                c == '-' || c == '.' || c == '_' || c == '~';
        if (unreserved) {
            out.push_back(c);
        } else {
            const auto u = static_cast<unsigned char>(c);
            out.push_back('%');
            out.push_back(kHex[u >> 4]);
            out.push_back(kHex[u & 0xf]);
        }
    }
}

// The raw value of a macro letter; `buf` holds values that have to be formatted.
std::string_view letter_value(char letter, const MacroContext& ctx, std::array<char, 80>& buf) {
    const auto or_unknown = [](std::string_view v) { return v.empty() ? "unknown" : v; };
    switch (letter) {
        case 's':
            return ctx.sender;
        case 'l':
            return ctx.local;
        case 'o':
            return ctx.sender_domain;
        case 'd':
            return ctx.domain;
        case 'h':
            return ctx.helo;
        case 'r':
            return or_unknown(ctx.receiver);
        case 'p':
            return or_unknown(ctx.validated);
        case 'v':
            return ctx.ip->is_v4() ? "in-addr" : "ip6";
        case 't': {
            auto r = std::to_chars(buf.data(), buf.data() + buf.size(), ctx.now);
            return {buf.data(), static_cast<std::size_t>(r.ptr - buf.data())};
        }
        case 'c': {
            const std::string s = ctx.ip->to_string();  // <= 45 characters
            std::copy(s.begin(), s.end(), buf.begin());
            return {buf.data(), s.size()};
        }
        case 'i': {
            if (ctx.ip->is_v4()) {
                char* p = buf.data();
                for (int k = 0; k < 4; ++k) {
                    if (k != 0) *p++ = '.';
                    p = std::to_chars(p, buf.data() + buf.size(), ctx.ip->bytes[k]).ptr;
                }
                return {buf.data(), static_cast<std::size_t>(p - buf.data())};
            }
            // IPv6: 32 dot-separated nibbles, most significant first (§7.3).
            static constexpr char kHex[] = "0123456789abcdef";
            std::size_t n = 0;
            for (std::uint8_t b : ctx.ip->bytes) {
                buf[n++] = kHex[b >> 4];
                buf[n++] = '.';
                buf[n++] = kHex[b & 0xf];
                buf[n++] = '.';
            }
            return {buf.data(), n - 1};
        }
        default:
            return {};
    }
}

// Splits on the delimiters, reverses, keeps the rightmost parts, joins with '.' (§7.3).
void append_transformed(std::string& out, std::string_view value, const Macro& m) {
    const std::string_view delims = m.delimiters.empty() ? std::string_view(".") : m.delimiters;
    if (!m.reverse && m.keep == 0 && delims == ".") {
        append_value(out, value, m.escape);
        return;
    }
    std::array<std::string_view, 128> small;
    std::vector<std::string_view> large;  // only for values with more than 128 parts
    std::size_t count = 0;
    const auto push = [&](std::string_view part) {
        if (count < small.size()) {
            small[count] = part;
        } else {
            if (large.empty()) large.assign(small.begin(), small.end());
            large.push_back(part);
        }
        ++count;
    };
    std::size_t start = 0;
    for (std::size_t i = 0; i <= value.size(); ++i) {
        if (i == value.size() || delims.find(value[i]) != std::string_view::npos) {
            push(value.substr(start, i - start));
            start = i + 1;
        }
    }
    std::string_view* parts = large.empty() ? small.data() : large.data();
    if (m.reverse) std::reverse(parts, parts + count);
    const std::size_t first = (m.keep != 0 && m.keep < count) ? count - m.keep : 0;
    for (std::size_t i = first; i < count; ++i) {
        if (i != first) out.push_back('.');
        append_value(out, parts[i], m.escape);
    }
}

}  // namespace

bool check_macro_string(std::string_view text, MacroUse use, MacroInfo* info) {
    MacroInfo local;
    for (std::size_t i = 0; i < text.size();) {
        if (text[i] != '%') {
            if (!literal_allowed(text[i], use)) return false;
            ++i;
            continue;
        }
        Macro m;
        const std::size_t end = parse_macro(text, i, use, m);
        if (end == 0) return false;
        if (m.letter == 'p') local.needs_validated_name = true;
        local.last_macro_end = end;
        i = end;
    }
    if (info) *info = local;
    return true;
}

bool expand_macro_string(std::string_view text, MacroUse use, const MacroContext& ctx,
                         std::string& out) {
    std::array<char, 80> buf;
    for (std::size_t i = 0; i < text.size();) {
        const std::size_t pct = text.find('%', i);
        const std::size_t lit_end = pct == std::string_view::npos ? text.size() : pct;
        for (std::size_t k = i; k < lit_end; ++k)
            if (!literal_allowed(text[k], use)) return false;
        out.append(text.substr(i, lit_end - i));
        if (lit_end == text.size()) break;
        Macro m;
        const std::size_t end = parse_macro(text, lit_end, use, m);
        if (end == 0) return false;
        if (m.letter == 0) {
            out.append(m.literal);
        } else {
            append_transformed(out, letter_value(m.letter, ctx, buf), m);
        }
        i = end;
    }
    return true;
}

void expand_domain_spec(std::string_view spec, const MacroContext& ctx, std::string& out) {
    out.clear();
    expand_macro_string(spec, MacroUse::domain_spec, ctx, out);
    if (!out.empty() && out.back() == '.') out.pop_back();
    std::size_t cut = 0;
    while (out.size() - cut > kMaxName) {
        const std::size_t dot = out.find('.', cut);
        if (dot == std::string::npos) break;
        cut = dot + 1;
    }
    if (cut != 0) out.erase(0, cut);
}

}  // namespace postern::dns::spf
