#include "connection.hpp"

#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <variant>

#include "common/ascii.hpp"
#include "common/time.hpp"
#include "ingest.hpp"
#include "input_buffer.hpp"
#include "smtpd/proto/session.hpp"
#include "submit.hpp"

namespace postern::smtp {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
using Clock = std::chrono::steady_clock;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

// Reads in the command phase are small (a session that never sends mail holds this much);
// DATA reads are larger. The buffer is kept once grown: freeing and reallocating it for every
// message made glibc trim its heap (madvise and a TLB flush) on every transaction.
constexpr std::size_t kCommandRead = 2 * 1024;
constexpr std::size_t kDataRead = 16 * 1024;
// Replies are held back while pipelined commands remain (RFC 2920), up to this much.
constexpr std::size_t kMaxPendingOutput = 16 * 1024;
// A TLS handshake gets this long at most, whatever the idle timeout.
constexpr std::chrono::seconds kHandshakeTime{30};

using TlsStream = asio::ssl::stream<tcp::socket&>;

// The state of one connection. Lives in serve_connection's frame; the two child coroutines
// refer to it, and operator|| does not return until both children have finished.
struct Connection {
    tcp::socket socket;
    Services& services;
    ConnectionControl& control;
    Session session;
    std::chrono::seconds idle;
    std::chrono::milliseconds auth_time;  // the longest the end-of-data checks may take
    InputBuffer in;
    std::string out;
    Actions actions;
    std::shared_ptr<SpfCheck> spf;  // started (or reused) at the latest MAIL FROM; checks on
    ListenerKind kind = ListenerKind::mx;
    // Under TLS once the handshake has begun (over `socket`, which outlives it): every read and
    // write goes through it from then on.
    std::unique_ptr<TlsStream> tls;
    std::string remote_ip;
    unsigned early_spf_checks = 0;  // SPF checks started at MAIL FROM (kMaxEarlySpfChecks)
};

std::string loggable_username(std::string_view user) {
    if (user.starts_with("pst_") || user.starts_with("cxk_") || user.starts_with("smx_"))
        return "(withheld: looks like a token)";
    return printable(user, 254);
}

// The server side of a TLS handshake on c.socket. Nothing read before it is kept (RFC 3207
// §4.2; the session refused the STARTTLS if anything had been pipelined after it).
asio::awaitable<bool> start_tls(Connection& c) {
    c.in.consume(c.in.data().size());
    c.tls = std::make_unique<TlsStream>(c.socket, *c.services.tls);
    c.control.deadline = Clock::now() + std::min<std::chrono::seconds>(c.idle, kHandshakeTime);
    auto [ec] = co_await c.tls->async_handshake(asio::ssl::stream_base::server, kTuple);
    if (ec) {
        spdlog::debug("smtpd: TLS handshake failed: {}", ec.message());
        co_return false;
    }
    co_return true;
}

asio::awaitable<bool> flush(Connection& c) {
    if (c.out.empty()) co_return true;
    c.control.deadline = Clock::now() + c.idle;
    boost::system::error_code ec;
    if (c.tls) {
        auto [e, n] = co_await asio::async_write(*c.tls, asio::buffer(c.out), kTuple);
        ec = e;
    } else {
        auto [e, n] = co_await asio::async_write(c.socket, asio::buffer(c.out), kTuple);
        ec = e;
    }
    c.out.clear();
    co_return !ec;
}

// Performs the session's actions in order; effects report back to the session, which may
// append more actions. Returns false when the connection is to be closed.
asio::awaitable<bool> perform(Connection& c) {
    for (std::size_t i = 0; i < c.actions.size(); ++i) {
        Action action = std::move(c.actions[i]);  // on_result may grow c.actions
        if (auto* reply = std::get_if<Reply>(&action)) {
            c.out += reply->text;
            if (c.out.size() >= kMaxPendingOutput && !co_await flush(c)) co_return false;
        } else if (auto* lookup = std::get_if<LookupRecipient>(&action)) {
            c.session.on_result(
                c.services.directory.lookup(lookup->key, lookup->domain, lookup->postmaster),
                c.actions);
        } else if (auto* spf = std::get_if<StartSpf>(&action)) {
            if (c.services.checks()) {
                if (auto reused = reuse_spf(*spf, c.spf)) {
                    c.spf = std::move(reused);
                } else if (c.early_spf_checks < kMaxEarlySpfChecks) {
                    ++c.early_spf_checks;
                    c.spf =
                        start_spf(c.services, c.socket.get_executor(), std::move(*spf), nullptr);
                } else {
                    c.spf = nullptr;  // ingest() starts it once the message is in
                }
            }
        } else if (std::holds_alternative<StartTls>(action)) {
            if (!co_await flush(c)) co_return false;  // the 220 goes out in the clear
            if (!co_await start_tls(c)) co_return false;
            c.session.on_tls_started(c.actions);
        } else if (auto* auth = std::get_if<Authenticate>(&action)) {
            const auto& config = c.services.config;
            const std::int64_t mono = monotonic_ms();  // the throttle's clock
            AuthVerdict verdict;  // temp_failure: 454 4.7.0 while the address is throttled
            if (c.services.auth_throttle.allowed(c.remote_ip, mono)) {
                verdict = c.services.directory.authenticate(auth->username, auth->password,
                                                            config.outbound.require_verified_domain,
                                                            now_ms());
                if (verdict.kind == AuthVerdict::Kind::invalid)
                    c.services.auth_throttle.failed(c.remote_ip, mono);
            }
            OPENSSL_cleanse(auth->password.data(), auth->password.size());
            // The password is never logged; the username only as printable text, and not at
            // all when it looks like a token (a password typed into the wrong field).
            spdlog::info("smtpd: AUTH {} as <{}> from {}: {}", auth->mechanism,
                         loggable_username(auth->username), c.remote_ip,
                         verdict.kind == AuthVerdict::Kind::ok ? "ok"
                         : verdict.kind == AuthVerdict::Kind::invalid
                             ? "refused"
                             : "not checked (throttled or lookup failed)");
            c.session.on_result(std::move(verdict), c.actions);
        } else if (auto* store = std::get_if<StoreMessage>(&action)) {
            // The checks have their own bound (auth.spf_timeout_ms); the watchdog allows it.
            c.control.deadline = Clock::now() + c.idle + c.auth_time;
            // The awaitable is made in its own statement so that the by-value StoreMessage
            // argument is not a temporary of the co_await expression (see ingest.cpp).
            // c.spf is kept: the next MAIL FROM of the same sender may reuse it.
            StoreOutcome outcome;
            if (store->submitter) {
                auto queueing = submit(std::move(*store), c.services);
                StoreOutcome queued = co_await std::move(queueing);
                outcome = std::move(queued);
            } else {
                auto storing =
                    ingest(std::move(*store), c.services, c.spf, c.socket.get_executor());
                StoreOutcome stored = co_await std::move(storing);
                outcome = std::move(stored);
            }
            if (outcome.ok) c.services.messages.fetch_add(1, std::memory_order_relaxed);
            c.session.on_result(std::move(outcome), c.actions);
        } else {  // Close
            c.actions.clear();
            co_await flush(c);
            co_return false;
        }
    }
    c.actions.clear();
    co_return true;
}

asio::awaitable<void> io_loop(Connection& c) {
    try {
        if (c.kind == ListenerKind::submissions && !co_await start_tls(c)) co_return;
        c.session.on_connect(c.actions);
        if (!co_await perform(c)) co_return;
        for (;;) {
            // Everything already buffered first: pipelined commands are answered together.
            while (!c.in.empty()) {
                c.session.set_room(c.services.disk_room.room(monotonic_ms()));
                std::size_t used = c.session.feed(c.in.data(), c.actions);
                c.in.consume(used);
                if (!c.actions.empty() && !co_await perform(c)) co_return;
                if (used == 0) break;  // a partial command line: read on
            }
            if (!co_await flush(c)) co_return;
            const bool idle = c.session.idle() && c.in.empty();
            if (idle && c.control.draining) {
                c.session.on_shutdown(c.actions);
                co_await perform(c);
                co_return;
            }
            char* room = c.in.prepare(c.session.in_data() ? kDataRead : kCommandRead);
            c.control.deadline = Clock::now() + c.idle;
            c.control.idle_wait = idle;
            boost::system::error_code ec;
            std::size_t n = 0;
            if (c.tls) {
                auto [e, got] =
                    co_await c.tls->async_read_some(asio::buffer(room, c.in.room()), kTuple);
                ec = e;
                n = got;
            } else {
                auto [e, got] =
                    co_await c.socket.async_read_some(asio::buffer(room, c.in.room()), kTuple);
                ec = e;
                n = got;
            }
            c.control.idle_wait = false;
            if (ec) co_return;  // EOF, reset, or cancelled by the watchdog: nothing half-stored
            c.in.commit(n);
        }
    } catch (const std::exception& e) {
        // Cancellation by the watchdog surfaces here as operation_aborted.
        spdlog::debug("smtpd: session ended: {}", e.what());
    }
}

// Ends the session when the deadline of the current read or write passes, or when the server
// asks (stop_now). Deadlines only move forward, so sleeping until the one last seen and then
// looking again is enough.
asio::awaitable<void> watchdog(ConnectionControl& control) {
    for (;;) {
        if (control.stop_now) {
            control.end = ConnectionControl::End::shutdown;
            co_return;
        }
        if (control.deadline <= Clock::now()) {
            control.end = ConnectionControl::End::timeout;
            co_return;
        }
        control.timer.expires_at(control.deadline);
        co_await control.timer.async_wait(kTuple);
        auto state = co_await asio::this_coro::cancellation_state;
        if (state.cancelled() != asio::cancellation_type::none) co_return;  // the session ended
    }
}

// The last words, best effort: a socket that cannot take a short reply at once gets none. Under
// TLS there are none: a reply would have to be encrypted, and the stream may be mid-record.
void say_goodbye(Connection& c) {
    for (auto& action : c.actions)
        if (auto* reply = std::get_if<Reply>(&action)) c.out += reply->text;
    c.actions.clear();
    if (c.tls) return;
    boost::system::error_code ec;
    c.socket.non_blocking(true, ec);
    if (!ec && !c.out.empty()) c.socket.write_some(asio::buffer(c.out), ec);
}

}  // namespace

asio::awaitable<void> serve_connection(tcp::socket socket, std::shared_ptr<Services> services,
                                       std::shared_ptr<ConnectionControl> control,
                                       ConnectionLimits::Ticket ticket, std::string client_ip,
                                       ListenerKind kind) {
    const SmtpConfig& smtp = services->config.smtp;
    SessionOptions options{services->config.hostname, client_ip, smtp.max_message_size,
                           smtp.max_recipients, smtp.max_errors};
    options.tls_offered = services->tls != nullptr;
    if (kind != ListenerKind::mx) {
        options.submission = true;
        options.max_message_size =
            std::min(smtp.max_message_size, services->config.outbound.max_message_bytes);
        options.max_auth_failures = services->config.submission.max_auth_failures;
        options.tls_active = kind == ListenerKind::submissions;
    }
    Connection c{
        std::move(socket),
        *services,
        *control,
        Session(std::move(options)),
        std::chrono::seconds(smtp.idle_timeout_seconds),
        std::chrono::milliseconds(services->checks() ? services->config.auth.spf_timeout_ms : 0),
        {},
        {},
        {},
        {},
        kind,
        {},
        std::move(client_ip)};
    control->deadline = Clock::now() + c.idle;

    auto race = io_loop(c) || watchdog(*control);  // own statement: see ingest.cpp
    auto first = co_await std::move(race);
    if (first.index() == 1) {
        c.out.clear();  // a reply cut off mid-write is not resent
        if (control->end == ConnectionControl::End::timeout) {
            c.session.on_timeout(c.actions);
        } else {
            c.session.on_shutdown(c.actions);
        }
        say_goodbye(c);
    } else if (c.tls) {
        // TLS ends with our close_notify (RFC 8446 §6.1); the client's is awaited a second at
        // most.
        asio::steady_timer limit(c.socket.get_executor(), std::chrono::seconds(1));
        auto closing = c.tls->async_shutdown(asio::as_tuple(asio::use_awaitable)) ||
                       limit.async_wait(asio::as_tuple(asio::use_awaitable));
        auto closed = co_await std::move(closing);
        (void)closed;
    }
    // close() alone sends the FIN (after anything still queued); a shutdown() first only cost a
    // system call, which mostly failed with ENOTCONN once the client had closed after our 221.
    boost::system::error_code ec;
    c.socket.close(ec);
}

}  // namespace postern::smtp
