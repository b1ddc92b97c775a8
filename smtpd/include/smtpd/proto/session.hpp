#pragma once
// The SMTP server state machine for MX ingress (RFC 5321 with PIPELINING, SIZE, 8BITMIME,
// SMTPUTF8 and ENHANCEDSTATUSCODES). Bytes in, Actions out; it owns no socket, clock or database
// (STYLE.md §3). The shell feeds what it reads, performs the actions in order, and reports the
// results of effects (recipient lookups, storing) back through on_result().
//
// One Session per connection; not thread-safe (the shell calls it from one strand).
#include <cstdint>
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

    // The result of the LookupRecipient or StoreMessage the session asked for.
    void on_result(EffectResult result, Actions& out);

    void on_timeout(Actions& out);   // the client was idle too long: 421 4.4.2, Close
    void on_shutdown(Actions& out);  // the server is draining: 421 4.3.2, Close

    bool waiting() const { return pending_ != Pending::none; }
    bool closed() const { return closed_; }
    bool in_data() const { return phase_ == Phase::data; }
    // No mail transaction in progress and nothing outstanding: safe to close while draining.
    bool idle() const {
        return !closed_ && pending_ == Pending::none &&
               (phase_ == Phase::need_helo || phase_ == Phase::ready);
    }
    std::uint32_t errors() const { return errors_; }

    // Sent (then close) when a connection is over the server's limits; no Session exists then.
    static std::string too_many_connections(std::string_view hostname);

 private:
    enum class Phase : std::uint8_t { need_helo, ready, mail, data };
    enum class Pending : std::uint8_t { none, lookup, store };

    struct Transaction {
        std::string reverse_path;
        std::vector<Recipient> recipients;
        std::string pending_rcpt;  // the RCPT being looked up
        std::uint64_t declared_size = 0;
        bool smtputf8 = false;
        bool eightbit = false;
        bool rcpt_attempted = false;
        std::string body;
    };

    void reply(Actions& out, int code, std::string_view text);
    void cmd_helo(std::string_view arg, bool extended, Actions& out);
    void cmd_mail(std::string_view arg, Actions& out);
    void cmd_rcpt(std::string_view arg, Actions& out);
    void cmd_data(std::string_view arg, Actions& out);
    void recipient_verdict(const RecipientVerdict& v, Actions& out);
    void stored(const StoreOutcome& s, Actions& out);
    void end_of_data(Actions& out);
    void reset_transaction();
    bool need_helo(Actions& out);

    SessionOptions options_;
    Phase phase_ = Phase::need_helo;
    Pending pending_ = Pending::none;
    bool closed_ = false;
    bool extended_ = false;    // EHLO (not HELO) was used
    bool discarding_ = false;  // skipping the rest of an over-long command line
    std::uint32_t errors_ = 0;
    std::string helo_;
    Transaction txn_;
    DataReader data_;
};

}  // namespace postern::smtp
