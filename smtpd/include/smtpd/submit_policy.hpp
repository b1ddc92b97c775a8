#pragma once
// The rules of SMTP submission (RFC 6409) that do not need a socket: which token may submit for
// which mailbox, why a mailbox may not send yet, and the header fields an MSA adds. Pure;
// thread-safe.
#include <cstdint>
#include <string>
#include <string_view>

#include "storage/models.hpp"

namespace postern::smtp {

// True when `token` lets its holder submit mail as `mailbox` at `now_ms`: a mailbox token
// (pst_…, not a Connex key), carrying email:send (directly or through a bundle), bound to this
// very mailbox (same tenant), neither revoked nor expired.
//
// Tenant-wide tokens (no mailbox binding) are refused even with email:send: the SMTP username
// would be the only thing choosing the mailbox, so one leaked tenant token could send as every
// mailbox of the tenant, with nothing in the token to say which. REST sends name the mailbox
// in the route and check it against the token; SMTP has no such second check.
bool token_may_submit(const storage::Token& token, const storage::Mailbox& mailbox,
                      std::int64_t now_ms);

// Empty when `domain` may send; else the text of the 550 5.7.1 reply to MAIL FROM (used when
// [outbound] require_verified_domain is on).
std::string send_refusal(const storage::Domain& domain);

// True when the header section of `message` (up to its first empty line) has a field `name`
// (compared ignoring ASCII case).
bool has_header(std::string_view message, std::string_view name);

}  // namespace postern::smtp
