#pragma once
// Private to postern_api: the JSON bodies of the sending routes, checked field by field.
//
//   POST /v1/mailboxes/{mailbox}/messages   to cc bcc reply_to subject text html attachments
//                                           in_reply_to headers
//   POST /v1/messages/{id}/reply            text html attachments headers reply_all cc bcc
//   POST /v1/messages/{id}/forward          to cc bcc text html attachments headers
//
// Shape errors (not JSON, an unknown field, a wrong type) are 400; well-formed but unusable
// values (an address that is not one, bad base64, a structural header) are 422. Each error names
// its field ("to[1]", "attachments[0].content", "headers.From"). Pure; thread-safe.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "apid/problem.hpp"
#include "common/mime.hpp"

namespace postern::api {

enum class SendKind { send, reply, forward };

struct SendRequest {
    std::vector<mime::Mailbox> to, cc, bcc, reply_to;
    std::string subject;
    std::string text, html;
    std::vector<mime::OutgoingAttachment> attachments;
    std::string in_reply_to;  // a msg_ id or a Message-ID (brackets removed)
    std::vector<mime::Header> headers;
    bool reply_all = false;
};

struct SendErrors {
    std::vector<FieldError> shape;     // -> 400
    std::vector<FieldError> semantic;  // -> 422
};

// Parses and checks `body`; the error is the problem response to send.
tl::expected<SendRequest, Response> parse_send_request(std::string_view body, SendKind kind);

// The message `req` describes, for the sending routes to complete (sender, host name, date,
// threading): to, cc, reply_to, subject, text, html, headers copied, the attachments moved out
// of `req` (they may be large). Bcc stays in `req`: it goes to the envelope only.
mime::Outgoing outgoing_of(SendRequest& req);

// "a@b", "Name <a@b>" or {"name": …, "address": …}; the address is checked with
// parse_address (RFC 5321 mailbox, IDNA).
std::optional<mime::Mailbox> parse_mailbox_text(std::string_view text);

}  // namespace postern::api
