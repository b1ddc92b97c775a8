#pragma once
// The header section of a received message, read just far enough for mail authentication: the
// From values DMARC needs, whether there is a DKIM signature at all, and the removal of
// Authentication-Results fields that claim to be ours (RFC 8601 §5). Fields are read by
// common/header_fields.hpp (CRLF line ends, which the SMTP layer guarantees). Pure; thread-safe.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/header_fields.hpp"

namespace postern::smtp::auth {

// The field reader is common (common/header_fields.hpp); these names keep the auth code short.
using mime::for_each_header_field;
using mime::header_fields;
using mime::HeaderField;
using mime::unfold;

// What authentication needs from the header section, in one pass.
struct AuthHeaders {
    std::vector<std::string> from;  // every From field, unfolded
    bool dkim_signed = false;       // at least one DKIM-Signature field
};
AuthHeaders auth_headers(std::string_view message);

// The authserv-id of an Authentication-Results value (RFC 8601 §2.2: after optional CFWS, a
// token or a quoted-string), or "" when there is none.
std::string authserv_id_of(std::string_view value);

// Removes every Authentication-Results field whose authserv-id is `authserv_id` (ASCII
// case-insensitive), in one pass whatever their number. Returns how many were removed.
std::size_t remove_forged_results(std::string& message, std::string_view authserv_id);

}  // namespace postern::smtp::auth
