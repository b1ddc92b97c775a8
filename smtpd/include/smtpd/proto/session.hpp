#pragma once
// The SMTP server state machine for MX ingress and for submission (RFC 5321 with PIPELINING,
// SIZE, 8BITMIME, SMTPUTF8, ENHANCEDSTATUSCODES, CHUNKING (RFC 3030), STARTTLS (RFC 3207) and,
// on submission listeners under TLS, AUTH PLAIN and LOGIN (RFC 4954)). Bytes in, Actions out;
// it owns no socket, clock or database (STYLE.md §3). The shell feeds what it reads, performs the
// actions in order, and reports the results of effects (recipient lookups, storing) back through
// on_result().
//
// One Session per connection; not thread-safe (the shell calls it from the connection's one
// thread).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "smtpd/proto/actions.hpp"
#include "smtpd/proto/command.hpp"
#include "smtpd/proto/data_reader.hpp"

namespace postern::smtp {

struct SessionOptions {
    std::string hostname = "localhost";  // ours: greeting, EHLO, Received
    std::string client_ip;               // the peer's address, textual, no brackets
    std::uint64_t max_message_size = 25 * 1024 * 1024;
    std::uint32_t max_recipients = 100;
    std::uint32_t max_errors = 10;  // 0: no limit
    // A submission listener (RFC 6409): AUTH (offered only under TLS) is required before MAIL,
    // MAIL FROM must be the authenticated mailbox, any recipient domain is accepted without a
    // lookup, and no SPF check starts.
    bool submission = false;
    bool tls_offered = false;  // STARTTLS is offered (a certificate is loaded)
    bool tls_active = false;   // the connection is already under TLS (implicit TLS, port 465)
    std::uint32_t max_auth_failures = 3;  // then 421 4.7.0 and close; 0: no limit
};

class Session {
 public:
    // A command line, CRLF included, may be this long (RFC 5321 §4.5.3.1.4).
    static constexpr std::size_t kMaxCommandLine = 512;

    explicit Session(SessionOptions options);

    // The 220 greeting.
    void on_connect(Actions& out);

    // Consumes input in either phase: complete command lines, or DATA bytes up to the final dot.
    // Stops early, returning the bytes used so far, when an effect is outstanding (waiting()),
    // when the session closed, or when only part of a command line is left; the caller keeps
    // the rest and feeds it again (with more bytes appended) later.
    std::size_t feed(std::string_view bytes, Actions& out);

    // One command line without its line ending. feed() calls this; tests may call it directly.
    void on_line(std::string_view line, Actions& out);

    // The result of the LookupRecipient, StoreMessage or Authenticate the session asked for.
    void on_result(EffectResult result, Actions& out);

    // The TLS handshake asked for by StartTls succeeded: every piece of state from before it is
    // forgotten (RFC 3207 §4.2); the client must send EHLO again.
    void on_tls_started(Actions& out);

    // How many bytes the store can still take above its reserve; the shell sets it before
    // feeding input. MAIL gets 452 4.3.1 while it is 0, or when a declared SIZE needs more than
    // half of it (the store holds a message twice for a while: WAL, then database).
    void set_room(std::uint64_t bytes) { room_ = bytes; }

    void on_timeout(Actions& out);   // the client was idle too long: 421 4.4.2, Close
    void on_shutdown(Actions& out);  // the server is draining: 421 4.3.2, Close

    bool waiting() const { return pending_ != Pending::none; }
    bool closed() const { return closed_; }
    bool in_data() const { return phase_ == Phase::data || phase_ == Phase::chunk; }
    bool tls() const { return tls_; }
    bool authenticated() const { return identity_.has_value(); }
    // No mail transaction in progress and nothing outstanding: safe to close while draining.
    bool idle() const {
        return !closed_ && pending_ == Pending::none &&
               (phase_ == Phase::need_helo || phase_ == Phase::ready);
    }
    std::uint32_t errors() const { return errors_; }

    // Sent (then close) when a connection is over the server's limits; no Session exists then.
    static std::string too_many_connections(std::string_view hostname);

 private:
    enum class Phase : std::uint8_t {
        need_helo,
        ready,
        mail,
        data,   // DATA: bytes up to the final dot
        chunk,  // BDAT: chunk_left_ more octets, then back to chunk_return_
        auth,   // AUTH: the next line is a SASL response, not a command
    };
    enum class Pending : std::uint8_t { none, lookup, store, tls, auth };
    enum class Sasl : std::uint8_t { plain, login_user, login_password };

    struct Transaction {
        std::string reverse_path;
        std::vector<Recipient> recipients;
        // RCPT commands answered 250, duplicates included: what max_recipients limits (as
        // Postfix's smtpd_recipient_limit), so a repeated address cannot buy unbounded lookups.
        std::size_t accepted_rcpts = 0;
        std::string pending_rcpt;  // the RCPT being looked up
        std::uint64_t declared_size = 0;
        bool smtputf8 = false;
        bool eightbit = false;
        bool rcpt_attempted = false;
        bool chunking = false;  // a BDAT was accepted: DATA and RCPT are out of sequence
        std::string body;
    };

    void reply(Actions& out, int code, std::string_view text);
    void cmd_helo(std::string_view arg, bool extended, Actions& out);
    void cmd_mail(std::string_view arg, Actions& out);
    void cmd_rcpt(std::string_view arg, Actions& out);
    void cmd_data(std::string_view arg, Actions& out);
    void cmd_bdat(std::string_view arg, Actions& out);
    void cmd_starttls(std::string_view arg, Actions& out);
    void cmd_auth(std::string_view arg, Actions& out);
    void sasl_response(std::string_view line, Actions& out);
    void sasl_plain(std::string_view decoded, Actions& out);
    void auth_failed(Actions& out);
    void recipient_verdict(const RecipientVerdict& v, Actions& out);
    void auth_verdict(const AuthVerdict& v, Actions& out);
    void stored(const StoreOutcome& s, Actions& out);
    void end_of_data(Actions& out);
    void end_of_chunk(Actions& out);
    void refuse_data(Actions& out);
    void store_transaction(Actions& out);
    void reset_transaction();
    bool need_helo(Actions& out);
    std::string protocol_name() const;

    SessionOptions options_;
    Phase phase_ = Phase::need_helo;
    Pending pending_ = Pending::none;
    bool closed_ = false;
    bool extended_ = false;    // EHLO (not HELO) was used
    bool discarding_ = false;  // skipping the rest of an over-long command line
    bool more_input_ = false;  // feed() has bytes after the line being handled (STARTTLS)
    bool tls_ = false;
    std::uint32_t errors_ = 0;
    std::uint32_t auth_failures_ = 0;
    std::uint64_t room_ = UINT64_MAX;
    std::string helo_;
    Transaction txn_;
    DataReader data_;
    // BDAT: the chunk being read, and the reply owed after it when the chunk is refused (its
    // octets are read and dropped all the same, so that they are never taken for commands).
    std::uint64_t chunk_left_ = 0;
    bool chunk_last_ = false;
    Phase chunk_return_ = Phase::ready;
    int chunk_refusal_code_ = 0;
    std::string chunk_refusal_;
    // AUTH
    Sasl sasl_ = Sasl::plain;
    std::string sasl_user_;  // LOGIN: the username, until the password arrives
    std::optional<AuthIdentity> identity_;
    std::string send_refused_;  // from the AuthVerdict: why MAIL FROM is refused, if it is
};

}  // namespace postern::smtp
