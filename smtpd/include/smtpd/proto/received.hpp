#pragma once
// The Received trace header we prepend to every message (RFC 5321 §4.4, RFC 5322 §3.6.7).
// Pure; thread-safe.
#include <string>
#include <string_view>

#include "smtpd/proto/actions.hpp"

namespace postern::smtp {

// "Received: from HELO ([ip])\r\n\tby HOST (Postern) with PROTO id ID\r\n\tfor <rcpt>; DATE\r\n"
// (the "for" clause only when there is one recipient). We do no reverse DNS, so the TCP-info
// is the address literal alone; IPv6 addresses are written "[IPv6:...]".
// `date` is an RFC 5322 date-time (common/time.hpp rfc5322_date).
std::string format_received(const ReceivedInfo& info, std::string_view id, std::string_view date);

}  // namespace postern::smtp
