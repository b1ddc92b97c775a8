#pragma once
// Delivery Status Notifications (RFC 3464): the multipart/report the queue runner stores in the
// sending mailbox when a delivery bounces (Action: failed) or is late (Action: delayed). Built
// with GMime; pure (no I/O, no clock: times come in). Thread-safe (mime::init() is called).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace postern::dsn {

struct Recipient {
    std::string recipient;   // Final-Recipient (rfc822)
    std::string status;      // "5.1.1" (see status_of)
    std::string remote_mta;  // host name or address, "" when no server was reached
    std::string diagnostic;  // the remote reply ("550 5.1.1 no such user") or our own reason
    std::int64_t last_attempt_ms = 0;
    bool smtp_diagnostic = true;  // Diagnostic-Code: "smtp;" (the server's reply) or
                                  // "x-postern;" (our own reason, RFC 3464 §2.3.6)
};

struct Request {
    bool delay = false;               // true: Action: delayed (a warning); false: Action: failed
    std::string reporting_mta;        // this server's host name
    std::string to;                   // the sending mailbox's address
    std::string original;             // the original message (its header section is attached)
    std::int64_t arrival_ms = 0;      // when the message was queued
    std::int64_t now_ms = 0;          // Date of the report
    std::int64_t retry_until_ms = 0;  // delay reports: Will-Retry-Until
    std::vector<Recipient> recipients;
};

// The enhanced status code (RFC 3463) of an SMTP reply ("550 5.1.1 …" → "5.1.1"), or the
// class default ("5.0.0", "4.0.0") when the reply carries none.
std::string status_of(std::string_view reply, char default_class);

// The complete report, CRLF line ends: From MAILER-DAEMON@reporting_mta, To the sender,
// Auto-Submitted: auto-replied, multipart/report; report-type=delivery-status with a text part,
// a message/delivery-status part and the original's header section as text/rfc822-headers.
// Errc::invalid_argument when there are no recipients.
[[nodiscard]] Result<std::string> build(const Request& r);

}  // namespace postern::dsn
