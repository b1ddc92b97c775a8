#include <glib.h>

#include <memory>

#include "mime_text.hpp"

namespace postern::mime::detail {
namespace {

struct GFree {
    void operator()(char* p) const { g_free(p); }
};

}  // namespace

std::vector<std::string> loose_msg_ids(std::string_view value) {
    std::vector<std::string> ids;
    std::size_t i = 0;
    while ((i = value.find('<', i)) != std::string_view::npos) {
        std::size_t end = value.find_first_of("<>", i + 1);
        if (end == std::string_view::npos) break;
        if (value[end] == '<') {  // "<a <b>": restart at the inner bracket
            i = end;
            continue;
        }
        std::string_view id = value.substr(i + 1, end - i - 1);
        while (!id.empty() && g_ascii_isspace(id.front())) id.remove_prefix(1);
        while (!id.empty() && g_ascii_isspace(id.back())) id.remove_suffix(1);
        if (!id.empty()) ids.emplace_back(id);
        i = end + 1;
    }
    if (!ids.empty()) return ids;
    std::string_view v = value;
    while (!v.empty() && g_ascii_isspace(v.front())) v.remove_prefix(1);
    while (!v.empty() && g_ascii_isspace(v.back())) v.remove_suffix(1);
    bool one_token = v.find_first_of(" \t\r\n") == std::string_view::npos;
    if (one_token && v.find('@') != std::string_view::npos) ids.emplace_back(v);
    return ids;
}

namespace {

// Where the header block ends: at its blank line, or the end of the input.
std::size_t header_block_size(std::string_view raw) {
    if (raw.starts_with("\n") || raw.starts_with("\r\n")) return 0;
    for (std::size_t nl = raw.find('\n'); nl != std::string_view::npos;
         nl = raw.find('\n', nl + 1)) {
        std::string_view rest = raw.substr(nl + 1);
        if (rest.starts_with("\n") || rest.starts_with("\r\n")) return nl + 1;
    }
    return raw.size();
}

struct EncodedWord {
    std::size_t begin, end;  // "=?" .. "?=" inclusive-exclusive
    std::string_view charset;
    std::string_view text;
    bool base64;
};

bool has_space(std::string_view s) { return s.find_first_of(" \t\r\n") != std::string_view::npos; }

std::vector<EncodedWord> encoded_words(std::string_view head) {
    std::vector<EncodedWord> words;
    std::size_t i = 0;
    while ((i = head.find("=?", i)) != std::string_view::npos) {
        std::size_t charset_end = head.find('?', i + 2);
        if (charset_end == std::string_view::npos || charset_end + 2 >= head.size()) break;
        std::size_t text_end = head.find("?=", charset_end + 3);
        char encoding = lower(head[charset_end + 1]);
        if (text_end == std::string_view::npos) break;
        EncodedWord w{i, text_end + 2, head.substr(i + 2, charset_end - i - 2),
                      head.substr(charset_end + 3, text_end - charset_end - 3), encoding == 'b'};
        bool well_formed = !w.charset.empty() && !has_space(w.charset) && !has_space(w.text) &&
                           (encoding == 'b' || encoding == 'q') && head[charset_end + 2] == '?';
        if (!well_formed) {
            i += 2;
            continue;
        }
        words.push_back(w);
        i = w.end;
    }
    return words;
}

bool same_charset(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}

std::string base64_decode(std::string_view text) {
    std::string out(text.size() / 4 * 3 + 3, '\0');
    gint state = 0;
    guint save = 0;
    out.resize(g_base64_decode_step(text.data(), text.size(), reinterpret_cast<guchar*>(out.data()),
                                    &state, &save));
    return out;
}

}  // namespace

std::optional<std::string> merge_split_b_words(std::string_view raw) {
    std::string_view head = raw.substr(0, header_block_size(raw));
    if (head.find("=?=") == std::string_view::npos) return std::nullopt;  // no padded word
    std::vector<EncodedWord> words = encoded_words(head);
    std::string out;
    std::size_t copied = 0;
    for (std::size_t a = 0; a < words.size();) {
        // The run [a, b): base64 words of one charset with only whitespace between them.
        std::size_t b = a + 1;
        bool padded_inside = false;
        while (b < words.size() && words[a].base64 && words[b].base64 &&
               same_charset(words[a].charset, words[b].charset) &&
               head.substr(words[b - 1].end, words[b].begin - words[b - 1].end)
                       .find_first_not_of(" \t\r\n") == std::string_view::npos) {
            padded_inside |= words[b - 1].text.find('=') != std::string_view::npos;
            ++b;
        }
        if (padded_inside) {
            std::string bytes;
            for (std::size_t k = a; k < b; ++k) bytes += base64_decode(words[k].text);
            std::unique_ptr<char, GFree> merged(
                g_base64_encode(reinterpret_cast<const guchar*>(bytes.data()), bytes.size()));
            out.append(raw.substr(copied, words[a].begin - copied));
            out += "=?";
            out += words[a].charset;
            out += "?B?";
            out += merged.get();
            out += "?=";
            copied = words[b - 1].end;
        }
        a = b;
    }
    if (copied == 0) return std::nullopt;
    out.append(raw.substr(copied));
    return out;
}

namespace {

// Reply and forward markers in the languages mail clients write them in.
constexpr std::string_view kPrefixes[] = {"re",  "fw",   "fwd",  "aw",   "wg",   "sv",
                                          "vs",  "antw", "tr",   "rif",  "odp",  "ynt",
                                          "enc", "回复", "答复", "转发", "回覆", "轉寄"};

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Length of one "Re:", "Re[2]:", "RE :", "回复：" or "[list]" at the start of s, or 0.
std::size_t prefix_length(std::string_view s) {
    if (s.empty()) return 0;
    if (s.front() == '[') {
        std::size_t end = s.find(']');
        if (end == std::string_view::npos || s.find('[', 1) < end) return 0;
        return end + 1;
    }
    for (std::string_view p : kPrefixes) {
        if (!iequals_at(s, 0, p)) continue;
        std::size_t i = p.size();
        if (i < s.size() && (s[i] == '[' || s[i] == '(')) {  // Re[2]: / Re(2):
            char close = s[i] == '[' ? ']' : ')';
            std::size_t j = i + 1;
            while (j < s.size() && s[j] >= '0' && s[j] <= '9') ++j;
            if (j == i + 1 || j >= s.size() || s[j] != close) continue;
            i = j + 1;
        }
        while (i < s.size() && is_space(s[i])) ++i;
        if (s.compare(i, 1, ":") == 0) return i + 1;
        if (s.compare(i, 3, "\xEF\xBC\x9A") == 0) return i + 3;  // U+FF1A fullwidth colon
    }
    return 0;
}

}  // namespace

std::string normalize_subject(std::string_view subject) {
    std::string fixed = to_utf8(subject);
    std::string_view s = fixed;
    for (;;) {
        while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
        std::size_t len = prefix_length(s);
        if (len == 0) break;
        std::string_view rest = s.substr(len);
        if (rest.find_first_not_of(" \t\r\n") == std::string_view::npos) break;  // keep "[x]"
        s = rest;
    }
    SnippetBuilder collapsed(static_cast<std::size_t>(-1));
    collapsed.feed(s);
    const std::string& text = collapsed.text();
    std::unique_ptr<char, GFree> nfc(g_utf8_normalize(text.data(), static_cast<gssize>(text.size()),
                                                      G_NORMALIZE_DEFAULT_COMPOSE));
    if (!nfc) return text;
    std::unique_ptr<char, GFree> folded(g_utf8_casefold(nfc.get(), -1));
    return folded ? std::string(folded.get()) : text;
}

}  // namespace postern::mime::detail
