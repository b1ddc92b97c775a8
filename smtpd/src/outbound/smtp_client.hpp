#pragma once
// The SMTP client of the queue runner: one transaction (one message, its recipients at one
// destination) over one TCP connection: EHLO (HELO as a fallback), opportunistic STARTTLS
// (no certificate verification: RFC 7435 opportunistic security), PIPELINING when offered
// (RFC 2920), SIZE, DATA with dot-stuffing, QUIT. Every read and write has a deadline.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <string>
#include <vector>

namespace boost::asio::ssl {
class context;
}

namespace postern::smtp::outbound {

struct Reply {
    int code = 0;      // 0: no reply (connection failure, timeout, our own error)
    std::string text;  // "550 5.1.1 user unknown" (lines of a multi-line reply joined by spaces)
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
};

struct TransactionResult {
    // false: the server could not be used (no connection, a failing greeting, EHLO or TLS): the
    // caller tries the next host. `rcpt` is then empty and `failure` says why.
    bool reached = false;
    Reply failure;
    std::vector<Reply> rcpt;  // reached: the final reply for each recipient, in order
    bool tls = false;         // STARTTLS was used
    bool tls_failed = false;  // the TLS handshake failed (try again without STARTTLS)
};

// Runs one transaction with `host` (its name for SNI and logs) at `endpoint`.
boost::asio::awaitable<TransactionResult> deliver(boost::asio::ip::tcp::endpoint endpoint,
                                                  std::string host, const Transaction& t,
                                                  const ClientOptions& options);

// RFC 5321 §4.5.2: a line that starts with "." gets another; a final CRLF is added if missing.
std::string dot_stuff(const std::string& message);

}  // namespace postern::smtp::outbound
