#pragma once
// Mail addresses (RFC 5321 mailbox syntax, RFC 6531 UTF-8 local parts). Pure; thread-safe.
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace postern {

struct Address {
    std::string local;   // as written (case kept for display)
    std::string domain;  // lowercase; IDNs as A-labels ("xn--...")
    std::string str() const { return local + "@" + domain; }
    // The key used to look a mailbox up: local part lowercased (ASCII), domain as above. A quoted
    // local part loses its quotes when its content is a plain dot-string ("alice" → alice), and
    // keeps only the backslashes it needs otherwise.
    std::string key() const;
};

// Parses "local@domain" (no angle brackets, no display name). Quoted local parts are accepted;
// a non-ASCII local part must be well-formed UTF-8.
Result<Address> parse_address(std::string_view text);

// The atext characters that are neither letters nor digits (RFC 5322 §3.2.3).
inline constexpr std::string_view kAtextSpecials = "!#$%&'*+-/=?^_`{|}~";

// A local part as RFC 5321 §4.1.2 (Dot-string or Quoted-string) and RFC 6531 allow it, at most
// 64 octets.
bool is_valid_local_part(std::string_view local);

// Well-formed UTF-8 (RFC 3629: no overlong forms, surrogates or NUL), as RFC 6531 requires of
// every non-ASCII octet in an address or EHLO name.
bool is_valid_utf8(std::string_view text);

// A domain we can host mail for, as normalize_domain returns it: two labels or more, a
// top-level label that is not all digits (RFC 3696 §2: "1.2.3.4" reads as an address), and
// A-labels that decode and encode back to themselves (RFC 5891 §5.4; "xn--zz" does not).
bool is_hostable_domain(std::string_view normalized);

// Lowercases ASCII and converts a UTF-8 domain to its A-label form with libidn2.
Result<std::string> normalize_domain(std::string_view domain);

}  // namespace postern
