#pragma once
// ASCII case folding for protocol text (SMTP verbs, header field names, DNS labels, DKIM and
// DMARC tags): locale-independent, bytes outside A-Z unchanged.
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

}  // namespace postern
