#include "mime_text.hpp"

#include <glib.h>

#include <array>
#include <cstdint>
#include <cstring>

namespace postern::mime::detail {
namespace {

constexpr char32_t kReplacement = 0xFFFD;

void append_code_point(std::string& out, char32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

// windows-1252 0x80..0x9F; 0 marks the five undefined bytes.
constexpr std::array<char16_t, 32> kCp1252High = {
    0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0,      0x017D, 0,      0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178};

char32_t cp1252(unsigned char b) {
    if (b >= 0xA0) return b;
    if (b >= 0x80 && kCp1252High[b - 0x80] != 0) return kCp1252High[b - 0x80];
    return kReplacement;  // NUL and undefined bytes
}

constexpr int kIncomplete = -1;

// Length of the well-formed UTF-8 sequence at p (RFC 3629), 0 if malformed, kIncomplete if the
// input ends inside a sequence that is well-formed so far. NUL counts as malformed.
int sequence_length(const unsigned char* p, std::size_t n) {
    unsigned char c = p[0];
    if (c < 0x80) return c == 0 ? 0 : 1;
    int need = 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        need = 1;
    } else if (c == 0xE0) {
        need = 2, lo = 0xA0;
    } else if (c == 0xED) {
        need = 2, hi = 0x9F;
    } else if (c >= 0xE1 && c <= 0xEF) {
        need = 2;
    } else if (c == 0xF0) {
        need = 3, lo = 0x90;
    } else if (c == 0xF4) {
        need = 3, hi = 0x8F;
    } else if (c >= 0xF1 && c <= 0xF3) {
        need = 3;
    } else {
        return 0;
    }
    for (int i = 1; i <= need; ++i) {
        if (static_cast<std::size_t>(i) >= n) return kIncomplete;
        unsigned char b = p[i];
        if (i == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF)) return 0;
    }
    return need + 1;
}

// Decodes the (valid) code point at p, advancing p.
char32_t next_code_point(const unsigned char*& p) {
    unsigned char c = *p++;
    if (c < 0x80) return c;
    int extra = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : 1;
    char32_t cp = c & (0x3F >> extra);
    while (extra-- > 0) cp = (cp << 6) | (*p++ & 0x3F);
    return cp;
}

// Converts `data` (tail included) and returns the number of bytes consumed; with `final` false,
// an unfinished sequence at the end is left unconsumed.
// The end of the run of ASCII without NUL that starts at i, eight bytes at a time: most text is
// all of it, and it needs no per-byte look.
std::size_t skip_plain_ascii(const unsigned char* p, std::size_t i, std::size_t n) {
    constexpr std::uint64_t kHigh = 0x8080808080808080ULL, kOnes = 0x0101010101010101ULL;
    while (i + 8 <= n) {
        std::uint64_t w;
        std::memcpy(&w, p + i, 8);
        if ((w & kHigh) != 0 || ((w - kOnes) & ~w & kHigh) != 0) break;  // a high bit, or a NUL
        i += 8;
    }
    return i;
}

std::size_t fix(std::string_view data, bool final, std::string& out) {
    auto* p = reinterpret_cast<const unsigned char*>(data.data());
    std::size_t n = data.size(), i = 0, run = 0;
    out.reserve(out.size() + n);
    while (i < n) {
        i = skip_plain_ascii(p, i, n);
        if (i == n) break;
        int len = sequence_length(p + i, n - i);
        if (len > 0) {
            i += static_cast<std::size_t>(len);
            continue;
        }
        if (len == kIncomplete && !final) break;
        out.append(data.substr(run, i - run));
        append_code_point(out, cp1252(p[i]));
        run = ++i;
    }
    out.append(data.substr(run, i - run));
    return i;
}

}  // namespace

void Utf8Fixer::put(std::string_view in, std::string& out) {
    if (tail_.empty()) {
        std::size_t used = fix(in, false, out);
        tail_.assign(in.substr(used));
        return;
    }
    std::string joined = tail_ + std::string(in);
    std::size_t used = fix(joined, false, out);
    tail_ = joined.substr(used);
}

void Utf8Fixer::finish(std::string& out) {
    fix(tail_, true, out);
    tail_.clear();
}

std::string to_utf8(std::string_view in) {
    std::string out;
    fix(in, true, out);
    return out;
}

std::string_view utf8_prefix(std::string_view s, std::size_t max_bytes) {
    if (s.size() <= max_bytes) return s;
    std::size_t cut = max_bytes;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
    return s.substr(0, cut);
}

void SnippetBuilder::feed(std::string_view utf8) {
    auto* p = reinterpret_cast<const unsigned char*>(utf8.data());
    const auto* end = p + utf8.size();
    while (p < end && !full()) {
        const auto* start = p;
        char32_t cp = next_code_point(p);
        bool space = false;
        if (cp < 0x80) {
            space = cp <= 0x20 || cp == 0x7F;
        } else {
            switch (g_unichar_type(cp)) {
                case G_UNICODE_SPACE_SEPARATOR:
                case G_UNICODE_LINE_SEPARATOR:
                case G_UNICODE_PARAGRAPH_SEPARATOR:
                case G_UNICODE_CONTROL:
                    space = true;
                    break;
                case G_UNICODE_FORMAT:  // zero-width joiners, BOM, soft hyphen: invisible
                    continue;
                default:
                    break;
            }
        }
        if (space) {
            pending_space_ = !out_.empty();
            continue;
        }
        if (pending_space_) {
            if (chars_ + 2 > max_chars_) {  // a space with nothing after it: stop here
                chars_ = max_chars_;
                break;
            }
            out_ += ' ';
            ++chars_;
            pending_space_ = false;
        }
        out_.append(reinterpret_cast<const char*>(start), static_cast<std::size_t>(p - start));
        ++chars_;
    }
}

namespace {

// HTML 4 names of U+00A0..U+00FF, in code point order.
constexpr std::array<std::string_view, 96> kLatin1Entities = {
    "nbsp",   "iexcl",  "cent",   "pound",  "curren", "yen",    "brvbar", "sect",   "uml",
    "copy",   "ordf",   "laquo",  "not",    "shy",    "reg",    "macr",   "deg",    "plusmn",
    "sup2",   "sup3",   "acute",  "micro",  "para",   "middot", "cedil",  "sup1",   "ordm",
    "raquo",  "frac14", "frac12", "frac34", "iquest", "Agrave", "Aacute", "Acirc",  "Atilde",
    "Auml",   "Aring",  "AElig",  "Ccedil", "Egrave", "Eacute", "Ecirc",  "Euml",   "Igrave",
    "Iacute", "Icirc",  "Iuml",   "ETH",    "Ntilde", "Ograve", "Oacute", "Ocirc",  "Otilde",
    "Ouml",   "times",  "Oslash", "Ugrave", "Uacute", "Ucirc",  "Uuml",   "Yacute", "THORN",
    "szlig",  "agrave", "aacute", "acirc",  "atilde", "auml",   "aring",  "aelig",  "ccedil",
    "egrave", "eacute", "ecirc",  "euml",   "igrave", "iacute", "icirc",  "iuml",   "eth",
    "ntilde", "ograve", "oacute", "ocirc",  "otilde", "ouml",   "divide", "oslash", "ugrave",
    "uacute", "ucirc",  "uuml",   "yacute", "thorn",  "yuml"};

struct NamedEntity {
    std::string_view name;
    char32_t cp;
};
constexpr NamedEntity kOtherEntities[] = {
    {"amp", '&'},       {"lt", '<'},        {"gt", '>'},        {"quot", '"'},
    {"apos", '\''},     {"zwnj", 0x200C},   {"zwj", 0x200D},    {"ensp", 0x2002},
    {"emsp", 0x2003},   {"thinsp", 0x2009}, {"ndash", 0x2013},  {"mdash", 0x2014},
    {"lsquo", 0x2018},  {"rsquo", 0x2019},  {"sbquo", 0x201A},  {"ldquo", 0x201C},
    {"rdquo", 0x201D},  {"bdquo", 0x201E},  {"bull", 0x2022},   {"hellip", 0x2026},
    {"euro", 0x20AC},   {"trade", 0x2122},  {"larr", 0x2190},   {"rarr", 0x2192},
    {"OElig", 0x0152},  {"oelig", 0x0153},  {"Scaron", 0x0160}, {"scaron", 0x0161},
    {"Yuml", 0x0178},   {"dagger", 0x2020}, {"Dagger", 0x2021}, {"permil", 0x2030},
    {"lsaquo", 0x2039}, {"rsaquo", 0x203A}, {"hearts", 0x2665}, {"check", 0x2713},
};

bool lookup_entity(std::string_view name, char32_t& cp) {
    for (std::size_t i = 0; i < kLatin1Entities.size(); ++i) {
        if (kLatin1Entities[i] == name) {
            cp = static_cast<char32_t>(0xA0 + i);
            return true;
        }
    }
    for (const auto& e : kOtherEntities) {
        if (e.name == name) {
            cp = e.cp;
            return true;
        }
    }
    return false;
}

bool is_alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

std::string ascii_lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = lower(c);
    return out;
}

// Decodes the character reference at html[i] == '&'; returns bytes consumed, 0 if none.
std::size_t decode_reference(std::string_view html, std::size_t i, std::string& out) {
    std::size_t j = i + 1;
    if (j < html.size() && html[j] == '#') {
        ++j;
        bool hex = j < html.size() && (html[j] == 'x' || html[j] == 'X');
        if (hex) ++j;
        std::uint32_t cp = 0;
        std::size_t digits = 0;
        for (; j < html.size() && digits < 8; ++j, ++digits) {
            char c = html[j];
            int v = c >= '0' && c <= '9'                        ? c - '0'
                    : hex && lower(c) >= 'a' && lower(c) <= 'f' ? lower(c) - 'a' + 10
                                                                : -1;
            if (v < 0) break;
            cp = cp * (hex ? 16 : 10) + static_cast<std::uint32_t>(v);
        }
        if (digits == 0) return 0;
        if (j < html.size() && html[j] == ';') ++j;
        bool valid = cp != 0 && cp <= 0x10FFFF && (cp < 0xD800 || cp > 0xDFFF);
        append_code_point(out, valid ? cp : kReplacement);
        return j - i;
    }
    while (j < html.size() && j - i <= 8 && is_alnum(html[j])) ++j;
    char32_t cp = 0;
    if (j >= html.size() || html[j] != ';' || !lookup_entity(html.substr(i + 1, j - i - 1), cp))
        return 0;
    append_code_point(out, cp);
    return j + 1 - i;
}

bool is_block_tag(std::string_view name) {
    static constexpr std::string_view kBlock[] = {
        "address", "article", "aside", "blockquote", "br",    "center", "dd", "div", "dl",
        "dt",      "footer",  "form",  "h1",         "h2",    "h3",     "h4", "h5",  "h6",
        "header",  "hr",      "li",    "main",       "nav",   "ol",     "p",  "pre", "section",
        "table",   "tbody",   "td",    "th",         "thead", "tr",     "ul"};
    for (auto b : kBlock)
        if (b == name) return true;
    return false;
}

}  // namespace

std::string html_to_text(std::string_view html) {
    std::string out;
    out.reserve(html.size() / 2);
    std::size_t i = 0;
    const std::size_t n = html.size();
    while (i < n) {
        char c = html[i];
        if (c == '&') {
            std::size_t used = decode_reference(html, i, out);
            if (used == 0) out += '&', used = 1;
            i += used;
            continue;
        }
        if (c != '<') {
            std::size_t next = html.find_first_of("<&", i);
            if (next == std::string_view::npos) next = n;
            out.append(html.substr(i, next - i));
            i = next;
            continue;
        }
        if (html.compare(i, 4, "<!--") == 0) {
            std::size_t end = html.find("-->", i + 4);
            i = end == std::string_view::npos ? n : end + 3;
            continue;
        }
        std::size_t j = i + 1;
        bool closing = j < n && html[j] == '/';
        if (closing) ++j;
        std::size_t name_start = j;
        while (j < n && is_alnum(html[j])) ++j;
        std::string name = ascii_lower(html.substr(name_start, j - name_start));
        bool markup = !name.empty() || (j < n && (html[j] == '!' || html[j] == '?'));
        if (!markup) {  // a lone '<' in text, as in "a < b"
            out += '<';
            ++i;
            continue;
        }
        char quote = 0;  // '>' inside a quoted attribute value does not end the tag
        for (; j < n; ++j) {
            if (quote != 0) {
                if (html[j] == quote) quote = 0;
            } else if (html[j] == '"' || html[j] == '\'') {
                quote = html[j];
            } else if (html[j] == '>') {
                break;
            }
        }
        i = j < n ? j + 1 : n;
        if (!closing && (name == "script" || name == "style" || name == "title")) {
            // Raw text up to the matching end tag (browsers also drop the rest if it is missing).
            std::string end_tag = "</" + name;
            std::size_t k = i;
            while ((k = html.find("</", k)) != std::string_view::npos &&
                   !iequals_at(html, k, end_tag))
                k += 2;
            std::size_t gt = k == std::string_view::npos ? k : html.find('>', k);
            i = gt == std::string_view::npos ? n : gt + 1;
            continue;
        }
        if (is_block_tag(name)) out += '\n';
    }
    return out;
}

}  // namespace postern::mime::detail
