#pragma once
// The header section of a received message, read just far enough for mail authentication: where
// each field is, the From values DMARC needs, whether there is a DKIM signature at all, and the
// removal of Authentication-Results fields that claim to be ours (RFC 8601 §5).
//
// The message uses CRLF line ends (the SMTP layer guarantees it). The header section ends at
// the first empty line, or with the message. Lines that are neither a field nor a continuation
// are skipped, not taken as the end: a field after such a line still counts, so that a forged
// Authentication-Results cannot hide behind a broken line from us while a lenient reader later
// shows it. Pure; thread-safe.
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace postern::smtp::auth {

struct HeaderField {
    std::string_view name;   // as written, blanks before the colon removed
    std::string_view value;  // after the colon, folding kept, without the final CRLF
    std::size_t begin = 0;   // offsets in the message: [begin, end) includes the final CRLF
    std::size_t end = 0;
};

// Calls `visit` with every field of the header section, in order; views into `message`. Keeps
// nothing, so a header section of millions of tiny fields costs no memory.
void for_each_header_field(std::string_view message,
                           const std::function<void(const HeaderField&)>& visit);
// The same, collected.
std::vector<HeaderField> header_fields(std::string_view message);

// The value with folding removed (CRLF before a blank dropped, RFC 5322 §2.2.3).
std::string unfold(std::string_view value);

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
