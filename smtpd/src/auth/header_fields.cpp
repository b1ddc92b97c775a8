#include "smtpd/auth/header_fields.hpp"

#include <utility>
#include <vector>

#include "common/ascii.hpp"

namespace postern::smtp::auth {
namespace {

// Skips blanks and (nested) comments: CFWS without line ends (the value is unfolded).
std::size_t skip_cfws(std::string_view s, std::size_t i) {
    int depth = 0;
    while (i < s.size()) {
        char c = s[i];
        if (depth > 0) {
            if (c == '\\') {
                i += 2;
                continue;
            }
            if (c == '(') ++depth;
            if (c == ')') --depth;
            ++i;
        } else if (c == '(') {
            ++depth;
            ++i;
        } else if (is_wsp(c) || c == '\r' || c == '\n') {
            ++i;
        } else {
            break;
        }
    }
    return i;
}

}  // namespace

AuthHeaders auth_headers(std::string_view message) {
    AuthHeaders h;
    for_each_header_field(message, [&h](const HeaderField& f) {
        if (iequals_ascii(f.name, "From")) {
            h.from.push_back(unfold(f.value));
        } else if (iequals_ascii(f.name, "DKIM-Signature")) {
            h.dkim_signed = true;
        }
    });
    return h;
}

std::string authserv_id_of(std::string_view value) {
    std::size_t i = skip_cfws(value, 0);
    std::string id;
    if (i < value.size() && value[i] == '"') {
        for (++i; i < value.size() && value[i] != '"'; ++i) {
            if (value[i] == '\\' && i + 1 < value.size()) ++i;
            if (value[i] != '\r' && value[i] != '\n') id.push_back(value[i]);
        }
        return id;
    }
    // A token ends at a blank, a comment, or the ';' before the first result.
    for (; i < value.size(); ++i) {
        char c = value[i];
        if (is_wsp(c) || c == '\r' || c == '\n' || c == ';' || c == '(') break;
        id.push_back(c);
    }
    return id;
}

std::size_t remove_forged_results(std::string& message, std::string_view authserv_id) {
    // A host name with its root dot ("mx.example.") is the same name (RFC 1034 §3.1).
    auto without_root = [](std::string_view id) {
        return id.ends_with('.') ? id.substr(0, id.size() - 1) : id;
    };
    auto forged = [&](const HeaderField& f) {
        return iequals_ascii(f.name, "Authentication-Results") &&
               iequals_ascii(without_root(authserv_id_of(f.value)), without_root(authserv_id));
    };
    return mime::erase_fields_if(message, forged);
}

}  // namespace postern::smtp::auth
