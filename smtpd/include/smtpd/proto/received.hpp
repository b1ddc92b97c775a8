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

// The HELO name for the headers we add to mail sent without SMTPUTF8, which may travel where
// only ASCII headers are understood (RFC 6531 §3.7.3): a UTF-8 name becomes its A-label or, when
// it has none, the client's address literal ("[192.0.2.1]", "[IPv6:2001:db8::1]"). An ASCII
// name is returned as it is.
std::string ascii_helo(std::string_view helo, std::string_view client_ip);

}  // namespace postern::smtp
