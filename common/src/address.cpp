#include "common/address.hpp"

#include <glib.h>
#include <idn2.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <memory>

#include "common/ascii.hpp"

namespace postern {
namespace {

std::string ascii_lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

bool is_atext(unsigned char c) {
    if (c >= 0x80) return true;  // RFC 6531 UTF8-non-ascii
    if (std::isalnum(c)) return true;
    return kAtextSpecials.find(static_cast<char>(c)) != std::string_view::npos;
}

bool valid_local(std::string_view local) {
    if (local.empty() || local.size() > 64 || !is_valid_utf8(local)) return false;
    if (local.front() == '"') {
        if (local.size() < 2 || local.back() != '"') return false;
        for (std::size_t i = 1; i + 1 < local.size(); ++i) {
            unsigned char c = static_cast<unsigned char>(local[i]);
            if (c == '\\') {
                if (++i + 1 >= local.size()) return false;
                continue;
            }
            if (c == '"' || c < 32 || c == 127) return false;
        }
        return true;
    }
    if (local.front() == '.' || local.back() == '.') return false;
    for (std::size_t i = 0; i < local.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(local[i]);
        if (c == '.') {
            if (local[i + 1] == '.') return false;
            continue;
        }
        if (!is_atext(c)) return false;
    }
    return true;
}

bool valid_ascii_domain(std::string_view d) {
    if (d.empty() || d.size() > 253) return false;
    std::size_t label = 0;
    for (std::size_t i = 0; i < d.size(); ++i) {
        char c = d[i];
        if (c == '.') {
            if (label == 0) return false;
            label = 0;
            continue;
        }
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-')) return false;
        if (c == '-' && (label == 0 || i + 1 == d.size() || d[i + 1] == '.')) return false;
        if (++label > 63) return false;
    }
    return label > 0;
}

}  // namespace

bool is_valid_utf8(std::string_view text) {
    return g_utf8_validate_len(text.data(), text.size(), nullptr) != FALSE;
}

bool is_valid_local_part(std::string_view local) { return valid_local(local); }

std::string Address::key() const {
    if (local.size() < 2 || local.front() != '"') return ascii_lower(local) + "@" + domain;
    // A quoted local part names the same mailbox as its content written plainly (RFC 5321
    // §4.1.2: "alice" is alice), and quoting is canonical otherwise: \ only where needed.
    std::string content;
    for (std::size_t i = 1; i + 1 < local.size(); ++i) {
        if (local[i] == '\\' && i + 2 < local.size()) ++i;
        content += local[i];
    }
    if (!content.empty() && content.front() != '"' && valid_local(content))
        return ascii_lower(content) + "@" + domain;
    std::string quoted = "\"";
    for (char c : content) {
        if (c == '"' || c == '\\') quoted += '\\';
        quoted += c;
    }
    quoted += '"';
    return ascii_lower(quoted) + "@" + domain;
}

Result<std::string> normalize_domain(std::string_view domain) {
    if (!domain.empty() && domain.back() == '.') domain.remove_suffix(1);
    std::string out;
    if (is_ascii(domain)) {
        out = ascii_lower(domain);
    } else {
        std::string in(domain);
        char* alabel = nullptr;
        int rc = idn2_to_ascii_8z(in.c_str(), &alabel, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
        if (rc != IDN2_OK)
            return fail(Errc::invalid_argument, "invalid domain: " + printable(in, 100));
        std::unique_ptr<char, decltype(&idn2_free)> guard(alabel, &idn2_free);
        out = ascii_lower(alabel);
    }
    if (!valid_ascii_domain(out))
        return fail(Errc::invalid_argument, "invalid domain: " + printable(out, 100));
    return out;
}

bool is_hostable_domain(std::string_view name) {
    const auto dot = name.rfind('.');
    if (dot == std::string_view::npos || dot == 0) return false;
    std::string_view top = name.substr(dot + 1);
    if (top.find_first_not_of("0123456789") == std::string_view::npos) return false;
    if (name.find("xn--") == std::string_view::npos) return true;
    std::string in(name);
    char* unicode = nullptr;
    if (idn2_to_unicode_8z8z(in.c_str(), &unicode, 0) != IDN2_OK) return false;
    std::unique_ptr<char, decltype(&idn2_free)> u(unicode, &idn2_free);
    char* back = nullptr;
    if (idn2_to_ascii_8z(unicode, &back, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT) != IDN2_OK)
        return false;
    std::unique_ptr<char, decltype(&idn2_free)> b(back, &idn2_free);
    return ascii_lower(back) == in;
}

Result<Address> parse_address(std::string_view text) {
    if (text.size() > 254 + 64) return fail(Errc::invalid_argument, "address too long");
    auto at = text.rfind('@');
    if (at == std::string_view::npos || at == 0 || at + 1 == text.size())
        return fail(Errc::invalid_argument, "address needs local@domain");
    std::string_view local = text.substr(0, at);
    if (!valid_local(local)) return fail(Errc::invalid_argument, "invalid local part");
    auto domain = normalize_domain(text.substr(at + 1));
    if (!domain) return tl::unexpected(domain.error());
    return Address{std::string(local), std::move(*domain)};
}

}  // namespace postern
