#pragma once
// The SMTP client of the queue runner. A session is one TCP connection after its greeting, EHLO
// (HELO as a fallback) and opportunistic STARTTLS (no certificate verification: RFC 7435
// opportunistic security); it carries one or more transactions (one message, its recipients at
// one destination: PIPELINING when offered (RFC 2920), SIZE, DATA with dot-stuffing), so that
// the runner can keep it for the next message to the same server, and ends with QUIT. Every
// read and write has a deadline.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace boost::asio::ssl {
class context;
}

namespace postern::smtp::outbound {

struct Reply {
    int code = 0;       // 0: no reply (connection failure, timeout, our own error)
    std::string text;   // "550 5.1.1 user unknown" (lines of a multi-line reply joined by spaces)
    bool ours = false;  // written here (a reason not to send, a failure), not the server's words
};

struct ClientOptions {
    std::string helo_name;  // EHLO argument: this server's host name
    std::chrono::milliseconds connect_timeout{30000};
    std::chrono::milliseconds command_timeout{300000};
    boost::asio::ssl::context* tls = nullptr;  // null: never STARTTLS
};

struct Transaction {
    std::string mail_from;
    std::vector<std::string> recipients;
    // The message as it goes on the wire after DATA: CRLF line ends, NOT yet dot-stuffed.
    const std::string* message = nullptr;
    // For a server without 8BITMIME, when `message` has 8-bit content: the same message with
    // none (mime::seven_bit, then signed), made on first call; null when it cannot be made.
    // Unset: such a server cannot have the message.
    std::function<boost::asio::awaitable<const std::string*>()> message_7bit;
};

struct TransactionResult {
    // false: the server could not be used (no connection, a failing greeting, EHLO or TLS): the
    // caller tries the next host. `rcpt` is then empty and `failure` says why.
    bool reached = false;
    Reply failure;
    std::vector<Reply> rcpt;  // reached: the final reply for each recipient, in order
    bool tls = false;         // STARTTLS was used
    bool tls_failed = false;  // the TLS handshake failed (try again without STARTTLS)
    // A session used before turned out to be unusable at this transaction's first reply: none
    // (closed), 421 (closing) or 503 (out of sequence). Nothing was accepted for any recipient:
    // try another connection.
    bool stale = false;
};

struct Session;  // the connection and what its server offered; private to smtp_client.cpp

struct Opened {
    std::shared_ptr<Session> session;  // null: `failure` says why (reached false)
    TransactionResult failure;
};

// Connects to `host` (its name for SNI and logs) at `endpoint`: greeting, EHLO, STARTTLS.
boost::asio::awaitable<Opened> open_session(boost::asio::ip::tcp::endpoint endpoint,
                                            std::string host, const ClientOptions& options);

// One transaction on an open session (reached is true unless the session is stale).
boost::asio::awaitable<TransactionResult> transact(std::shared_ptr<Session> session,
                                                   const Transaction& t,
                                                   const ClientOptions& options);

// Whether the session can carry another transaction: its connection is intact and its server
// waits for the next MAIL FROM.
bool reusable(const Session& session);
std::size_t transactions(const Session& session);  // transactions carried so far
std::chrono::steady_clock::time_point opened_at(const Session& session);

// QUIT (its reply awaited at most two seconds; under TLS then close_notify, the server's awaited
// two seconds at most), then close. Only closes a session that is not reusable().
boost::asio::awaitable<void> quit(std::shared_ptr<Session> session);
// Closes the connection at once, without QUIT.
void close_now(Session& session);

// RFC 5321 §4.5.2: a line that starts with "." gets another; a final CRLF is added if missing.
std::string dot_stuff(const std::string& message);

}  // namespace postern::smtp::outbound
