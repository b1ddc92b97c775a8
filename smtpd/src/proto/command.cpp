#include "smtpd/proto/command.hpp"

#include <array>
#include <utility>

#include "common/address.hpp"
#include "common/ascii.hpp"

namespace postern::smtp {
namespace {

bool is_alnum(unsigned char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

constexpr std::array<std::pair<std::string_view, Verb>, 16> kVerbs{{
    {"helo", Verb::helo},
    {"ehlo", Verb::ehlo},
    {"mail", Verb::mail},
    {"rcpt", Verb::rcpt},
    {"data", Verb::data},
    {"rset", Verb::rset},
    {"noop", Verb::noop},
    {"quit", Verb::quit},
    {"help", Verb::help},
    {"vrfy", Verb::vrfy},
    {"expn", Verb::expn},
    {"starttls", Verb::starttls},
    {"auth", Verb::auth},
    {"bdat", Verb::bdat},
    {"etrn", Verb::etrn},
    {"turn", Verb::turn},
}};

std::string_view trim_spaces(std::string_view s) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    return s;
}

// esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
bool valid_keyword(std::string_view k) {
    if (k.empty() || !is_alnum(static_cast<unsigned char>(k.front()))) return false;
    for (char c : k)
        if (!is_alnum(static_cast<unsigned char>(c)) && c != '-') return false;
    return true;
}

// esmtp-value = 1*(%d33-60 / %d62-126), widened by RFC 6531 to UTF-8.
bool valid_value(std::string_view v) {
    if (v.empty()) return false;
    for (char ch : v) {
        auto c = static_cast<unsigned char>(ch);
        if (c < 33 || c == '=' || c == 127) return false;
    }
    return true;
}

// Finds the '>' that closes the path opened at s[0] == '<', skipping quoted strings.
// Returns npos when the path is not closed or contains a character a path cannot hold.
std::size_t find_path_end(std::string_view s) {
    bool quoted = false;
    for (std::size_t i = 1; i < s.size(); ++i) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c < 32 || c == 127) return std::string_view::npos;
        if (quoted) {
            if (c == '\\') {
                ++i;  // quoted-pair: the next character is literal
            } else if (c == '"') {
                quoted = false;
            }
            continue;
        }
        if (c == '"') {
            quoted = true;
        } else if (c == '>') {
            return i;
        } else if (c == '<' || c == ' ') {
            return std::string_view::npos;
        }
    }
    return std::string_view::npos;
}

// An address literal (RFC 5321 §4.1.3): "[192.0.2.1]", "[IPv6:2001:db8::1]" or a
// General-address-literal ("[tag:content]"), checked only for the characters these may hold.
bool is_address_literal_text(std::string_view s) {
    if (s.size() < 3 || s.front() != '[' || s.back() != ']') return false;
    for (char ch : s.substr(1, s.size() - 2)) {
        auto c = static_cast<unsigned char>(ch);
        if (!(is_alnum(c) || c == '.' || c == ':' || c == '-')) return false;
    }
    return true;
}

}  // namespace

Command parse_command(std::string_view line) {
    std::size_t end = line.find(' ');
    std::string_view word = line.substr(0, end);
    Command cmd;
    for (const auto& [name, verb] : kVerbs) {
        if (iequals_ascii(word, name)) {
            cmd.verb = verb;
            break;
        }
    }
    if (end != std::string_view::npos) cmd.arg = trim_spaces(line.substr(end + 1));
    return cmd;
}

tl::expected<PathArgument, ArgError> parse_path_argument(std::string_view arg,
                                                         std::string_view prefix) {
    if (!istarts_with(arg, prefix)) return tl::unexpected(ArgError::syntax);
    std::string_view s = arg.substr(prefix.size());
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);  // "FROM: <a@b>" is common
    if (s.empty() || s.front() != '<') return tl::unexpected(ArgError::path);
    std::size_t close = find_path_end(s);
    if (close == std::string_view::npos) return tl::unexpected(ArgError::path);

    PathArgument out;
    std::string_view path = s.substr(1, close - 1);
    if (!path.empty() && path.front() == '@') {
        // A-d-l (source route, RFC 5321 §4.1.2): accepted and ignored (Appendix C).
        std::size_t colon = path.find(':');
        if (colon == std::string_view::npos) return tl::unexpected(ArgError::path);
        path.remove_prefix(colon + 1);
        if (path.empty()) return tl::unexpected(ArgError::path);
    }
    out.mailbox = path;

    std::string_view rest = s.substr(close + 1);
    if (!rest.empty() && rest.front() != ' ') return tl::unexpected(ArgError::syntax);
    while (!rest.empty()) {
        while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
        if (rest.empty()) break;
        std::size_t sp = rest.find(' ');
        std::string_view token = rest.substr(0, sp);
        rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp);
        Param p;
        std::size_t eq = token.find('=');
        p.keyword = token.substr(0, eq);
        if (eq != std::string_view::npos) {
            p.value = token.substr(eq + 1);
            p.has_value = true;
            if (!valid_value(p.value)) return tl::unexpected(ArgError::syntax);
        }
        if (!valid_keyword(p.keyword)) return tl::unexpected(ArgError::syntax);
        out.params.push_back(p);
    }
    return out;
}

bool is_valid_helo_name(std::string_view name) {
    if (name.empty() || name.size() > 255 || !is_valid_utf8(name)) return false;
    if (name.front() == '[') return is_address_literal_text(name);
    for (char ch : name) {
        auto c = static_cast<unsigned char>(ch);
        if (!(is_alnum(c) || c == '.' || c == '-' || c == '_' || c >= 0x80)) return false;
    }
    return true;
}

bool is_address_literal_mailbox(std::string_view mailbox) {
    std::size_t at = mailbox.rfind('@');
    if (at == std::string_view::npos) return false;
    return is_valid_local_part(mailbox.substr(0, at)) &&
           is_address_literal_text(mailbox.substr(at + 1));
}

}  // namespace postern::smtp
