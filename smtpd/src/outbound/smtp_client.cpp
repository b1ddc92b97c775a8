// The outbound SMTP client. One coroutine per transaction; the connection state lives in a
// shared Conn so that the watchdog timer's handler (which closes the socket when a deadline
// passes) never outlives it.
#include "smtp_client.hpp"

#include <openssl/ssl.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <memory>
#include <optional>
#include <tl/expected.hpp>

#include "common/address.hpp"
#include "common/ascii.hpp"
#include "common/header_fields.hpp"
#include "smtpd/proto/reply.hpp"

namespace postern::smtp::outbound {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
// The first reply on a cached connection, and RSET: a live server answers these at once.
constexpr std::chrono::milliseconds kProbeTimeout{30000};

struct Conn {
    Conn(asio::any_io_executor ex, asio::ssl::context& ctx) : stream(ex, ctx), timer(ex) {}
    asio::ssl::stream<tcp::socket> stream;
    asio::steady_timer timer;
    bool tls = false;
    std::string in;  // bytes read and not yet consumed
};

// Closes the socket if `d` passes before the next arm() or disarm(): the pending operation then
// fails and the coroutine sees an error.
void arm(const std::shared_ptr<Conn>& c, std::chrono::milliseconds d) {
    c->timer.expires_after(d);
    c->timer.async_wait([weak = std::weak_ptr<Conn>(c)](boost::system::error_code ec) {
        if (ec) return;  // re-armed or cancelled
        if (auto conn = weak.lock()) {
            boost::system::error_code ignored;
            conn->stream.next_layer().close(ignored);
        }
    });
}

asio::awaitable<bool> write_all(std::shared_ptr<Conn> c, const std::string& data,
                                std::chrono::milliseconds timeout) {
    arm(c, timeout);
    boost::system::error_code ec;
    if (c->tls) {
        auto [e, n] = co_await asio::async_write(c->stream, asio::buffer(data), kTuple);
        ec = e;
    } else {
        auto [e, n] =
            co_await asio::async_write(c->stream.next_layer(), asio::buffer(data), kTuple);
        ec = e;
    }
    co_return !ec;
}

// Reads some bytes into c->in: at most `limit`. false (and nothing read) on an error.
asio::awaitable<bool> read_some(std::shared_ptr<Conn> c, std::size_t limit,
                                boost::system::error_code& ec) {
    const std::size_t had = c->in.size();
    c->in.resize(had + limit);
    auto into = asio::buffer(c->in.data() + had, limit);
    std::size_t n = 0;
    if (c->tls) {
        auto [e, k] = co_await c->stream.async_read_some(into, kTuple);
        ec = e;
        n = k;
    } else {
        auto [e, k] = co_await c->stream.next_layer().async_read_some(into, kTuple);
        ec = e;
        n = k;
    }
    c->in.resize(had + (ec ? 0 : n));
    co_return !ec;
}

// Reads one reply (all its lines). code 0 on a broken connection, a timeout or garbage. `raw`,
// when given, gets the reply's lines (for EHLO).
asio::awaitable<Reply> read_reply(std::shared_ptr<Conn> c, std::chrono::milliseconds timeout,
                                  ServerReply* raw = nullptr) {
    Reply r;
    arm(c, timeout);
    ReplyReader reader;
    ServerReply got;
    for (;;) {
        switch (reader.next(c->in, got)) {
            case ReplyReader::Status::reply:
                r.code = got.code;
                r.text = got.text();
                if (raw != nullptr) *raw = std::move(got);
                co_return r;
            case ReplyReader::Status::malformed:
                r.text = "malformed reply from the server";
                co_return r;
            case ReplyReader::Status::too_long:
                r.text = "over-long reply from the server";
                co_return r;
            case ReplyReader::Status::need_more:
                break;
        }
        // need_more leaves at most max_bytes() in c->in: one byte over is enough to tell.
        const std::size_t room = reader.max_bytes() + 1 - c->in.size();
        boost::system::error_code ec;
        auto reading = read_some(c, std::min<std::size_t>(room, 16384), ec);
        if (!co_await std::move(reading)) {
            r.text = "connection lost: " + ec.message();
            co_return r;
        }
    }
}

asio::awaitable<Reply> command(std::shared_ptr<Conn> c, std::string line,
                               std::chrono::milliseconds timeout, ServerReply* raw = nullptr) {
    line += "\r\n";
    auto writing = write_all(c, line, timeout);
    if (!co_await std::move(writing)) {
        Reply r;
        r.text = "connection lost while sending";
        co_return r;
    }
    auto reading = read_reply(c, timeout, raw);
    co_return co_await std::move(reading);
}

TransactionResult unreachable(std::string why) {
    TransactionResult t;
    t.failure.text = std::move(why);
    return t;
}

TransactionResult refused(const Reply& r) {
    TransactionResult t;
    t.failure = r;
    return t;
}

// EHLO, falling back to HELO when EHLO is refused with 5xx.
asio::awaitable<std::pair<Reply, Extensions>> hello(std::shared_ptr<Conn> c, std::string name,
                                                    std::chrono::milliseconds timeout) {
    ServerReply lines;
    auto ehlo = command(c, "EHLO " + name, timeout, &lines);
    Reply r = co_await std::move(ehlo);
    if (r.code >= 500 && r.code < 600) {
        auto helo = command(c, "HELO " + name, timeout);
        r = co_await std::move(helo);
        co_return std::make_pair(r, Extensions{});
    }
    co_return std::make_pair(r, parse_ehlo(lines));
}

}  // namespace

std::string dot_stuff(const std::string& message) {
    std::string out;
    out.reserve(message.size() + message.size() / 64 + 8);
    bool line_start = true;
    for (char ch : message) {
        if (line_start && ch == '.') out += '.';
        out += ch;
        line_start = ch == '\n';
    }
    if (!out.ends_with("\r\n")) out += "\r\n";
    return out;
}

struct Session {
    std::shared_ptr<Conn> conn;  // conn->tls: STARTTLS is in use
    Extensions caps;
    std::string host;    // its name, for replies we make up
    bool usable = true;  // the last exchange left the server waiting for MAIL FROM
    std::size_t transactions = 0;
    std::chrono::steady_clock::time_point opened = std::chrono::steady_clock::now();
};

bool reusable(const Session& s) { return s.usable && s.conn->stream.next_layer().is_open(); }
std::size_t transactions(const Session& s) { return s.transactions; }
std::chrono::steady_clock::time_point opened_at(const Session& s) { return s.opened; }

asio::awaitable<Opened> open_session(tcp::endpoint endpoint, std::string host,
                                     const ClientOptions& o) {
    // Awaitables are built in their own statements (g++ 12: no temporaries with destructors
    // inside a co_await expression). `o` belongs to the caller, which awaits this call.
    auto ex = co_await asio::this_coro::executor;
    // Without TLS a throw-away client context keeps the stream type the same either way.
    static asio::ssl::context no_tls(asio::ssl::context::tls_client);
    auto c = std::make_shared<Conn>(ex, o.tls ? *o.tls : no_tls);
    const auto timeout = o.command_timeout;
    Opened out;

    arm(c, o.connect_timeout);
    auto [cec] = co_await c->stream.next_layer().async_connect(endpoint, kTuple);
    if (cec) {
        out.failure = unreachable("cannot connect to " + host + ": " + cec.message());
        co_return out;
    }
    auto greeting_op = read_reply(c, timeout);
    Reply greeting = co_await std::move(greeting_op);
    if (greeting.code != 220) {
        out.failure = refused(greeting);
        co_return out;
    }
    auto hello_op = hello(c, o.helo_name, timeout);
    auto [ehlo, caps] = co_await std::move(hello_op);
    if (ehlo.code != 250) {
        out.failure = refused(ehlo);
        co_return out;
    }
    if (caps.starttls && o.tls != nullptr) {
        auto starttls_op = command(c, "STARTTLS", timeout);
        Reply r = co_await std::move(starttls_op);
        if (r.code == 220) {
            SSL_set_tlsext_host_name(c->stream.native_handle(), host.c_str());
            arm(c, timeout);
            auto [hec] = co_await c->stream.async_handshake(asio::ssl::stream_base::client, kTuple);
            if (hec) {
                out.failure =
                    unreachable("TLS handshake with " + host + " failed: " + hec.message());
                out.failure.tls_failed = true;
                co_return out;
            }
            c->tls = true;
            c->in.clear();
            auto again_op = hello(c, o.helo_name, timeout);
            auto [again, caps2] = co_await std::move(again_op);
            if (again.code != 250) {
                out.failure = refused(again);
                co_return out;
            }
            caps = caps2;
        }
        // Any other reply to STARTTLS: carry on in plain text (opportunistic).
    }
    c->timer.cancel();
    out.session = std::make_shared<Session>();
    out.session->conn = c;
    out.session->caps = caps;
    out.session->host = host;
    co_return out;
}

// The first reply of a transaction on a cached connection that says the connection cannot be
// used: none (closed), 421 (closing), or 503 (the server thinks a transaction is still open).
// Nothing was accepted for any recipient, so another connection is tried.
static bool stale_reply(const Reply& r) { return r.code == 0 || r.code == 421 || r.code == 503; }

// An address as it goes to a server: as it is when the server offers SMTPUTF8 or the address is
// ASCII; with its domain as an A-label when only the domain is UTF-8 (the one downgrade there
// is); nullopt when the local part is UTF-8, which only SMTPUTF8 can carry (RFC 6531 §3.2).
std::optional<std::string> wire_address(const std::string& address, bool smtputf8) {
    if (smtputf8 || is_ascii(address)) return address;
    const std::size_t at = address.rfind('@');
    if (at == std::string::npos || !is_ascii(std::string_view(address).substr(0, at)))
        return std::nullopt;
    auto alabel = normalize_domain(std::string_view(address).substr(at + 1));
    if (!alabel) return std::nullopt;
    return address.substr(0, at + 1) + *alabel;
}

// A reason of ours not to send the message to this server.
Reply not_sent(int code, std::string text) { return Reply{code, std::move(text), true}; }

struct Envelope {
    std::string mail_from;
    std::vector<std::string> recipients;
    const std::string* message = nullptr;  // the version this server can take
    bool eightbit = false;                 // BODY=8BITMIME
    bool smtputf8 = false;                 // SMTPUTF8: a UTF-8 address or header field
};

// The envelope and message as this server can take them, or the reason it cannot have the
// message at all. A UTF-8 local part (5.6.7) or a UTF-8 field in the message's header section
// (5.6.9) needs SMTPUTF8 (RFC 6531 §3.2, RFC 6532 §3); 8-bit content needs 8BITMIME, or else
// the message's 7-bit version (RFC 6152 §3: convert or return it); a message over the SIZE the
// server announced would only be refused after its data (RFC 1870 §6). All are permanent: the
// sender gets a DSN with the reply. `eightbit`: t.message has 8-bit content; `message_7bit`: its
// 7-bit version, when one was made.
tl::expected<Envelope, Reply> envelope_for(const Extensions& caps, const Transaction& t,
                                           bool eightbit, const std::string* message_7bit,
                                           const std::string& host) {
    Envelope e;
    bool ok = true;
    if (auto from = wire_address(t.mail_from, caps.smtputf8))
        e.mail_from = std::move(*from);
    else
        ok = false;
    for (const auto& r : t.recipients) {
        auto wire = wire_address(r, caps.smtputf8);
        ok = ok && wire.has_value();
        e.recipients.push_back(wire.value_or(r));
    }
    if (!ok)
        return tl::unexpected(not_sent(
            553, "553 5.6.7 not sent: " + host +
                     " does not offer SMTPUTF8, which an address with a UTF-8 local part needs"));
    const std::string& m = *t.message;
    const bool utf8_header = !is_ascii(std::string_view(m).substr(0, mime::header_section_end(m)));
    if (utf8_header && !caps.smtputf8)
        return tl::unexpected(not_sent(
            553, "553 5.6.9 not sent: " + host +
                     " does not offer SMTPUTF8, which the message's UTF-8 header fields need"));
    e.message = t.message;
    e.eightbit = eightbit;
    if (e.eightbit && !caps.eightbit) {
        if (message_7bit == nullptr)
            return tl::unexpected(not_sent(
                554, "554 5.6.3 not sent: " + host +
                         " does not offer 8BITMIME, and the message's 8-bit content could not "
                         "be converted to 7 bits"));
        e.message = message_7bit;
        e.eightbit = false;
    }
    e.smtputf8 = utf8_header || !is_ascii(e.mail_from);
    for (const auto& r : e.recipients) e.smtputf8 = e.smtputf8 || !is_ascii(r);
    if (caps.max_size != 0 && e.message->size() > caps.max_size)
        return tl::unexpected(
            not_sent(552, "552 5.3.4 not sent: the message (" + std::to_string(e.message->size()) +
                              " octets) is larger than " + host + " accepts (SIZE " +
                              std::to_string(caps.max_size) + ")"));
    return e;
}

asio::awaitable<TransactionResult> transact(std::shared_ptr<Session> s, const Transaction& t,
                                            const ClientOptions& o) {
    const auto& c = s->conn;
    const auto& caps = s->caps;
    const bool eightbit = !is_ascii(*t.message);
    const std::string* message_7bit = nullptr;
    if (eightbit && !caps.eightbit && t.message_7bit) {
        auto converting = t.message_7bit();
        message_7bit = co_await std::move(converting);
    }
    auto envelope = envelope_for(caps, t, eightbit, message_7bit, s->host);
    if (!envelope) {
        // Nothing was sent, and the server still waits for MAIL. Counted as a transaction, so
        // that the next one on this session is probed as on any cached connection.
        ++s->transactions;
        TransactionResult r;
        r.tls = c->tls;
        r.reached = true;
        r.rcpt.assign(t.recipients.size(), envelope.error());
        co_return r;
    }
    const auto timeout = o.command_timeout;
    const bool reused = s->transactions > 0;
    // On a cached connection the first reply also tells whether the connection still works; a
    // connection a NAT or firewall dropped silently must not hold the message for the full
    // command timeout.
    const auto first_timeout =
        reused ? std::min<std::chrono::milliseconds>(timeout, kProbeTimeout) : timeout;
    ++s->transactions;
    s->usable = false;  // until the transaction ends cleanly
    TransactionResult result;
    result.tls = c->tls;
    result.reached = true;
    const auto n = t.recipients.size();
    result.rcpt.assign(n, Reply{});

    std::string mail = "MAIL FROM:<" + envelope->mail_from + ">";
    if (caps.size) mail += " SIZE=" + std::to_string(envelope->message->size());
    // RFC 6152 / RFC 6531: declare 8-bit content and UTF-8 addresses or header fields (both
    // offered by the server: see envelope_for).
    if (envelope->eightbit) mail += " BODY=8BITMIME";
    if (envelope->smtputf8) mail += " SMTPUTF8";
    Reply mail_reply, data_reply;
    std::vector<Reply> rcpt_replies(n);
    if (caps.pipelining) {
        // RFC 2920: MAIL, every RCPT and DATA in one write; then the replies in order.
        std::string batch = mail + "\r\n";
        for (const auto& r : envelope->recipients) batch += "RCPT TO:<" + r + ">\r\n";
        batch += "DATA\r\n";
        auto write_op = write_all(c, batch, timeout);
        if (!co_await std::move(write_op)) {
            for (auto& r : result.rcpt) r.text = "connection lost while sending";
            result.stale = reused;
            co_return result;
        }
        auto mail_op = read_reply(c, first_timeout);
        mail_reply = co_await std::move(mail_op);
        if (reused && stale_reply(mail_reply)) {
            result.stale = true;
            co_return result;
        }
        for (std::size_t i = 0; i < n; ++i) {
            if (mail_reply.code == 0) {
                rcpt_replies[i] = mail_reply;
                continue;
            }
            auto rcpt_op = read_reply(c, timeout);
            rcpt_replies[i] = co_await std::move(rcpt_op);
        }
        if (mail_reply.code == 0) {
            data_reply = mail_reply;
        } else {
            auto data_op = read_reply(c, timeout);
            data_reply = co_await std::move(data_op);
        }
    } else {
        auto mail_op = command(c, mail, first_timeout);
        mail_reply = co_await std::move(mail_op);
        if (reused && stale_reply(mail_reply)) {
            result.stale = true;
            co_return result;
        }
        if (mail_reply.code == 250) {
            bool any = false;
            for (std::size_t i = 0; i < n; ++i) {
                auto rcpt_op = command(c, "RCPT TO:<" + envelope->recipients[i] + ">", timeout);
                rcpt_replies[i] = co_await std::move(rcpt_op);
                if (rcpt_replies[i].code == 0) break;
                any = any || rcpt_replies[i].code / 100 == 2;
            }
            if (any) {
                auto data_op = command(c, "DATA", timeout);
                data_reply = co_await std::move(data_op);
            }
        }
    }
    bool clean = mail_reply.code != 0 && mail_reply.code != 421;
    // Whether the server is back to waiting for MAIL: the MAIL was refused, or the reply after
    // the end of the data came. Otherwise (every RCPT refused, DATA refused) the transaction is
    // still open on the server and only RSET closes it.
    bool ended = mail_reply.code / 100 != 2;
    for (const auto& r : rcpt_replies) clean = clean && r.code != 421;
    if (mail_reply.code / 100 != 2) {
        for (auto& r : result.rcpt) r = mail_reply;
        // Pipelined: RCPT and DATA were refused after the refused MAIL (503).
        clean = clean && data_reply.code != 354;
    } else {
        bool any = false;
        for (std::size_t i = 0; i < n; ++i) {
            if (rcpt_replies[i].code / 100 == 2)
                any = true;
            else
                result.rcpt[i] = rcpt_replies[i];
            clean = clean && rcpt_replies[i].code != 0;
        }
        if (any) {
            Reply final_reply = data_reply;
            if (data_reply.code == 354) {
                const std::string body = dot_stuff(*envelope->message) + ".\r\n";
                // The body may be large: one command timeout per MiB on top of one.
                auto budget = timeout * (1 + body.size() / (1024 * 1024));
                auto body_op = write_all(c, body, budget);
                if (!co_await std::move(body_op)) {
                    final_reply = Reply{0, "connection lost while sending the message"};
                } else {
                    auto final_op = read_reply(c, timeout);
                    final_reply = co_await std::move(final_op);
                }
            }
            clean = clean && final_reply.code != 0 && final_reply.code != 421;
            ended = data_reply.code == 354;
            for (std::size_t i = 0; i < n; ++i)
                if (rcpt_replies[i].code / 100 == 2) result.rcpt[i] = final_reply;
        } else if (data_reply.code == 354) {
            // Pipelined, every recipient refused, yet DATA accepted: RFC 2920 §3.1, the client
            // ends the data at once (an empty message with no recipient goes nowhere).
            auto end_op = command(c, ".", timeout);
            Reply after = co_await std::move(end_op);
            clean = clean && after.code != 0 && after.code != 421;
            ended = true;
        } else {
            clean = clean && data_reply.code != 421;
        }
    }
    if (clean && !ended) {
        auto reset_op =
            command(c, "RSET", std::min<std::chrono::milliseconds>(timeout, kProbeTimeout));
        Reply reset = co_await std::move(reset_op);
        clean = reset.code == 250;
    }
    c->timer.cancel();
    s->usable = clean;
    co_return result;
}

void close_now(Session& s) {
    s.usable = false;
    s.conn->timer.cancel();
    boost::system::error_code ignored;
    s.conn->stream.next_layer().close(ignored);
}

asio::awaitable<void> quit(std::shared_ptr<Session> s) {
    if (s->conn->stream.next_layer().is_open() && s->usable) {
        auto quit_op = command(s->conn, "QUIT", std::chrono::milliseconds(2000));
        Reply bye = co_await std::move(quit_op);
        if (bye.code != 0 && s->conn->tls) {
            // close_notify (RFC 8446 §6.1); the server's is awaited two seconds at most.
            arm(s->conn, std::chrono::milliseconds(2000));
            auto [ec] = co_await s->conn->stream.async_shutdown(kTuple);
            (void)ec;
        }
    }
    s->usable = false;
    s->conn->timer.cancel();
    boost::system::error_code ignored;
    s->conn->stream.next_layer().close(ignored);
}

}  // namespace postern::smtp::outbound
