#pragma once
// ASCII for protocol text (SMTP verbs, header field names, DNS labels, DKIM and DMARC tags):
// case folding that is locale-independent (bytes outside A-Z unchanged), plain ASCII, and WSP.
#include <string>
#include <string_view>

namespace postern {

constexpr char ascii_lower(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

constexpr bool iequals_ascii(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
    return true;
}

// `s` begins with `prefix`, ASCII case ignored.
constexpr bool istarts_with(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() && iequals_ascii(s.substr(0, prefix.size()), prefix);
}

// Every byte below 0x80.
constexpr bool is_ascii(std::string_view s) {
    for (char c : s)
        if (static_cast<unsigned char>(c) >= 0x80) return false;
    return true;
}

// A C0 control character or DEL: what may not stand in a header value, a label or a name
// printed to a terminal (line ends, NUL, escapes).
constexpr bool has_control(std::string_view s) {
    for (char c : s)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return true;
    return false;
}

// RFC 5234 WSP: space or horizontal tab (the blank that folds a header line).
constexpr bool is_wsp(char c) { return c == ' ' || c == '\t'; }

// `s` without the WSP at either end.
constexpr std::string_view trim_wsp(std::string_view s) {
    while (!s.empty() && is_wsp(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_wsp(s.back())) s.remove_suffix(1);
    return s;
}

// Untrusted text for an error message or a log line: at most `max` bytes of it ("..." after
// when cut), control characters shown as '?'.
inline std::string printable(std::string_view text, std::size_t max) {
    std::string out(text.substr(0, max));
    for (char& c : out)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
    if (text.size() > max) out += "...";
    return out;
}

}  // namespace postern
