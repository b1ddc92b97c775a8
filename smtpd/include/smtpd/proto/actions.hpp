#pragma once
// What the SMTP state machine asks its shell to do (Action), and what the shell reports back
// (EffectResult). Plain values; no I/O.
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace postern::smtp {

// Bytes to send, already formatted ("250 2.1.0 Sender OK\r\n", or several lines for EHLO).
// The shell may hold replies back and send them together (RFC 2920) until it must wait.
struct Reply {
    int code = 0;
    std::string text;
};

// Resolve a RCPT TO; answer with on_result(RecipientVerdict).
struct LookupRecipient {
    std::string key;          // Address::key(): lowercase local part @ A-label domain
    std::string domain;       // A-label, lowercase; empty for <Postmaster> without a domain
    bool postmaster = false;  // the local part is "postmaster" (any case): RFC 5321 §4.5.1
};

// Where the message came from, for the Received header (RFC 5321 §4.4).
struct ReceivedInfo {
    std::string helo;       // HELO/EHLO argument as validated
    std::string client_ip;  // textual address, no brackets
    std::string hostname;   // ours
    std::string protocol;   // "SMTP", "ESMTP", "UTF8SMTP" (RFC 3848, RFC 6531)
    std::string for_rcpt;   // the single recipient, or empty when there are several
};

struct Recipient {
    std::string address;     // RCPT TO as given (without <>)
    std::string mailbox_id;  // empty on submission listeners (any recipient, no lookup)
    std::string tenant_id;
};

// Who authenticated (RFC 4954) on a submission listener: the mailbox the token is bound to.
struct AuthIdentity {
    std::string mailbox_id;
    std::string tenant_id;
    std::string address;  // the mailbox's address as created
    std::string key;      // Address::key() of it: what MAIL FROM and From must match
};

// The end of data was reached and the message is acceptable: store it durably, then answer
// with on_result(StoreOutcome). Nothing may be acknowledged before that.
struct StoreMessage {
    std::string reverse_path;  // empty for the null sender <>
    std::vector<Recipient> recipients;
    std::string body;  // the message as received: CRLF lines, dot-stuffing removed
    ReceivedInfo received;
    bool smtputf8 = false;
    bool eightbit = false;  // BODY=8BITMIME was declared
    // Set on submission listeners: the message is outbound mail from this mailbox (queued for
    // delivery, a Sent copy kept), not inbound mail for `recipients`' mailboxes.
    std::optional<AuthIdentity> submitter;
};

// A MAIL FROM was accepted: the shell may start the SPF check (RFC 7208) of this sender now, in
// the background, so that its result is ready by the end of data. No result is reported back
// through on_result(): the shell hands it to the StoreMessage of the same transaction (the
// latest StartSpf before a StoreMessage belongs to it).
struct StartSpf {
    std::string client_ip;  // textual, no brackets
    std::string sender;     // MAIL FROM without <>; "" for the null reverse-path
    std::string helo;       // HELO/EHLO argument
    std::string hostname;   // ours (%{r})
};

// Send what is pending, then close the connection.
struct Close {};

// STARTTLS was accepted (RFC 3207): send what is pending (the 220), then run the TLS handshake
// as the server, with no input kept from before it. Answer with on_tls_started() once the
// handshake succeeded; on failure, close the connection without a word.
struct StartTls {};

// AUTH (RFC 4954) credentials to check: `username` is to be a mailbox address, `password` a
// token with the email:send scope bound to that mailbox. Answer with on_result(AuthVerdict).
// The password is a secret: never log it.
struct Authenticate {
    std::string mechanism;  // "PLAIN" or "LOGIN", for the logs
    std::string username;
    std::string password;
};

using Action =
    std::variant<Reply, LookupRecipient, StartSpf, StoreMessage, Close, StartTls, Authenticate>;
using Actions = std::vector<Action>;

struct RecipientVerdict {
    enum class Kind {
        accept,        // a hosted mailbox: mailbox_id and tenant_id are set
        no_such_user,  // hosted domain, no such mailbox: 550 5.1.1
        not_hosted,    // not our domain: 550 5.7.1 (never relay)
        temp_failure,  // the lookup failed: 451 4.3.0
    };
    Kind kind = Kind::temp_failure;
    std::string mailbox_id;
    std::string tenant_id;
};

struct StoreOutcome {
    bool ok = false;
    std::string id;  // shown in the 250 reply (a transaction id)
    // Refused by policy (a DMARC p=reject failure, a From header the submitter does not own),
    // nothing stored: the text of the "<refused_code> 5.7.1 <refused>" reply. Empty otherwise.
    std::string refused;
    int refused_code = 550;  // 550, or 553 for a sender the submitter does not own
    // Not stored because the disk (or the database's size limit) is full: 452 4.3.1, not 451.
    bool no_room = false;
};

struct AuthVerdict {
    enum class Kind {
        ok,            // identity is set: 235 2.7.0
        invalid,       // unknown user, wrong, revoked or expired token, wrong scope: 535 5.7.8
        temp_failure,  // the lookup failed: 454 4.7.0
    };
    Kind kind = Kind::temp_failure;
    AuthIdentity identity;
    // Non-empty when this mailbox may not send now (its domain is not verified and
    // [outbound] require_verified_domain is on): the text of the 550 5.7.1 reply to MAIL FROM.
    std::string send_refused;
};

using EffectResult = std::variant<RecipientVerdict, StoreOutcome, AuthVerdict>;

}  // namespace postern::smtp
