// The Beast shell around Api: listener, one coroutine per connection, drain. Modelled on Beast
// 1.81 example/http/server/awaitable: the stream, buffer and parser are locals of the
// connection's coroutine frame, so nothing needs shared_from_this.
#include "apid/server.hpp"

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <chrono>
#include <ctime>
#include <exception>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "apid/problem.hpp"
#include "common/log.hpp"
#include "common/time.hpp"
#include "storage/async_writer.hpp"

namespace postern::api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Strand = asio::strand<asio::io_context::executor_type>;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr auto kWriteTimeout = std::chrono::seconds(30);
constexpr auto kLingerTimeout = std::chrono::seconds(2);
constexpr std::size_t kLingerMaxBytes = 4 * 1024 * 1024;

// A live connection, so that a drain can close it while it waits for a request. `strand` is
// immutable; `stream` and `idle` are touched only on that strand.
struct Conn {
    explicit Conn(Strand s) : strand(std::move(s)) {}
    Strand strand;
    beast::tcp_stream* stream = nullptr;  // null once the session's frame is gone
    bool idle = false;                    // waiting for the next request
};

// RFC 9110 §5.6.7 IMF-fixdate, without the locale-dependent strftime names.
std::string http_date() {
    static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[40];
    std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday],
                  tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                  tm.tm_sec);
    return buf;
}

// `head`: the answer to a HEAD request, the GET's fields and Content-Length without its content
// (RFC 9110 §9.3.2).
http::response<http::string_body> to_beast(Response r, unsigned version, bool keep_alive,
                                           bool head = false) {
    http::response<http::string_body> res{static_cast<http::status>(r.status), version};
    res.set(http::field::server, "postern");
    res.set(http::field::date, http_date());
    res.set(http::field::cache_control, "no-store");
    res.set("X-Content-Type-Options", "nosniff");
    if (!r.content_type.empty()) res.set(http::field::content_type, r.content_type);
    for (auto& [name, value] : r.headers) res.insert(name, value);
    res.keep_alive(keep_alive);
    if (head) {
        res.content_length(r.body.size());
        return res;
    }
    res.body() = std::move(r.body);
    res.prepare_payload();
    return res;
}

// The status a failed request read deserves, or 0 when the connection just ends.
unsigned read_error_status(const beast::error_code& ec) {
    if (ec == http::error::header_limit) return 431;
    if (ec == http::error::body_limit) return 413;
    if (ec == http::error::end_of_stream || ec == http::error::partial_message) return 0;
    if (ec.category() == http::make_error_code(http::error::bad_target).category())
        return 400;  // malformed HTTP
    return 0;        // timeout, reset, cancelled by a drain, …
}

std::string read_error_detail(unsigned status) {
    switch (status) {
        case 431:
            return "the request headers are larger than the server accepts";
        case 413:
            return "the request body is larger than the server accepts";
        default:
            return "the request is not valid HTTP/1.1";
    }
}

// Framing Beast lets through but RFC 9112 refuses (400, and the connection is closed):
// - an HTTP/1.1 request needs exactly one Host field, and no request may have two (§3.2);
// - a Transfer-Encoding whose last coding is not chunked leaves the body's length unknown
//   (§6.3); read as "no body", the rest would be taken for the next request — smuggling behind
//   a proxy that reads it otherwise. (Beast itself refuses Content-Length with chunked, and
//   conflicting Content-Lengths.)
std::optional<Response> framing_refusal(const http::request_parser<http::string_body>& parser) {
    const auto& req = parser.get();
    auto hosts = req.count(http::field::host);
    if (hosts > 1 || (hosts == 0 && req.version() >= 11))
        return bad_request({{"Host", "an HTTP/1.1 request needs exactly one Host field"}});
    if (req.count(http::field::authorization) > 1)
        return bad_request({{"Authorization", "given more than once"}});
    // Which of two keys would count is as ambiguous as which of two tokens.
    if (req.count("Idempotency-Key") > 1)
        return bad_request({{"Idempotency-Key", "given more than once"}});
    // HTTP/1.0 has no transfer codings: one there is faulty framing (RFC 9112 §6.1).
    if (req.count(http::field::transfer_encoding) > 0 && (!parser.chunked() || req.version() < 11))
        return bad_request(
            {{"Transfer-Encoding", "only chunked is accepted as the final transfer coding"}});
    return std::nullopt;
}

// What the request line and header fields say; no body.
Request head_of(const http::request<http::string_body>& req, const std::string& remote) {
    Request r;
    // HEAD is answered as GET (the same route, scope and status), without the content.
    r.method = req.method() == http::verb::head ? "GET" : std::string(req.method_string());
    r.target = std::string(req.target());
    if (auto it = req.find(http::field::authorization); it != req.end())
        r.authorization = std::string(it->value());
    r.remote_address = remote;
    if (auto it = req.find("Idempotency-Key"); it != req.end())
        r.idempotency_key = std::string(it->value());
    return r;
}

Request to_request(http::request<http::string_body>& req, const std::string& remote) {
    Request r = head_of(req, remote);
    r.body = std::move(req.body());
    return r;
}

}  // namespace

struct Server::Impl {
    Impl(const Config& c, Api& a, ReadPool& r, storage::Writer* w)
        : config(c),
          api(a),
          reads(r),
          writer(w),
          threads(c.threads ? c.threads : std::max(1u, std::thread::hardware_concurrency())),
          ioc(static_cast<int>(threads)),
          acceptor(asio::make_strand(ioc)),
          signals(ioc, SIGINT, SIGTERM) {}

    void begin_drain();
    Response respond(const Request& request);
    std::optional<Response> admit(const Request& head);

    const Config& config;
    Api& api;
    ReadPool& reads;
    storage::Writer* writer;  // null: deferred writes are refused with 503
    unsigned threads;
    asio::io_context ioc;
    tcp::acceptor acceptor;  // on its own strand; the accept loop and the drain touch it there
    asio::signal_set signals;
    // Blocking work of a response (domain verification's DNS lookups, each on its own
    // io_context), kept off the io threads. Two threads: verifications are rare admin actions.
    asio::thread_pool workers{2};
    std::atomic<bool> draining{false};
    std::atomic<std::size_t> active{0};  // connections being served (not refused ones)
    std::mutex mu;
    std::set<std::shared_ptr<Conn>> conns;  // guarded by mu
};

namespace {

// Logs a coroutine that ended with an exception; never asio::detached (STYLE.md §2).
struct LogDone {
    const char* what;
    void operator()(std::exception_ptr e) const {
        if (!e) return;
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& ex) {
            spdlog::error("{}: {}", what, ex.what());
        }
    }
};

// Ends a connection's bookkeeping once its coroutine has finished.
struct SessionDone {
    Server::Impl* server;
    std::shared_ptr<Conn> conn;
    void operator()(std::exception_ptr e) const {
        LogDone{"session"}(e);
        {
            std::lock_guard lock(server->mu);
            server->conns.erase(conn);
        }
        server->active.fetch_sub(1);
    }
};

// After an error response on a connection whose request was not fully read: stop sending,
// then read and discard what the client is still sending for a short while, so that it sees
// our response instead of a reset (RFC 9112 §9.6).
asio::awaitable<void> linger_close(beast::tcp_stream& stream) {
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream.expires_after(kLingerTimeout);
    char buf[8192];
    std::size_t total = 0;
    while (total < kLingerMaxBytes) {
        auto [rec, n] = co_await stream.async_read_some(asio::buffer(buf), kTuple);
        if (rec) break;
        total += n;
    }
}

// Completes a deferred response: its job goes through the group-commit writer, and the reply is
// built only after the commit (DESIGN.md §4: an acknowledged write is on disk). `pending` is a
// by-value parameter, so it lives in this frame across the co_await.
asio::awaitable<Response> complete_write(Server::Impl& server, Response pending) {
    if (!server.writer) co_return problem(503, "writes are not available");
    storage::Writer::Job job = std::move(pending.deferred->job);
    Result<void> result = co_await storage::async_submit(*server.writer, job, asio::use_awaitable);
    co_return Api::finish(*pending.deferred, result);
}

asio::awaitable<Response> run_blocking_work(std::shared_ptr<std::function<Response()>> work) {
    co_return Api::finish_blocking(*work);
}

// Runs a response's blocking work (key generation, live DNS lookups) on the worker pool; the
// session resumes on its own strand when it is done (co_spawn moves the work, a post would not:
// STYLE.md §2). `pending` is a by-value parameter, so it lives in this frame.
asio::awaitable<Response> complete_blocking(Server::Impl& server, Response pending) {
    auto op = asio::co_spawn(server.workers.get_executor(), run_blocking_work(pending.blocking),
                             asio::use_awaitable);
    Response done = co_await std::move(op);
    co_return done;
}

// The body limit of a request: [api] max_body_bytes, except for the sending routes, whose JSON
// carries a whole message (attachments in base64, 4/3 of their size): they may be as large as
// [outbound] max_message_bytes allows, plus room for the JSON around it.
std::uint64_t body_limit_for(const Server::Impl& server, std::string_view method,
                             std::string_view target) {
    std::uint64_t base = server.config.api.max_body_bytes;
    if (method != "POST") return base;
    std::string_view path = target.substr(0, target.find('?'));
    bool sends = (path.starts_with("/v1/mailboxes/") && path.ends_with("/messages")) ||
                 (path.starts_with("/v1/messages/") &&
                  (path.ends_with("/reply") || path.ends_with("/forward")));
    if (!sends) return base;
    std::uint64_t send = server.config.outbound.max_message_bytes / 3 * 4 + 64 * 1024;
    return std::max(base, send);
}

// RFC 9112 §2.2: a server SHOULD ignore at least one empty line (CRLF) received before the
// request-line (some clients send one after a request body). Up to kMaxBlankPrefix octets of CR
// and LF are dropped; more are left to the parser, which refuses them with a 400. A drain that
// began between two reads ends the wait (it cancels only the read pending when it began).
constexpr std::size_t kMaxBlankPrefix = 64;

asio::awaitable<beast::error_code> skip_blank_lines(beast::tcp_stream& stream,
                                                    beast::flat_buffer& buffer,
                                                    const std::atomic<bool>& draining) {
    std::size_t skipped = 0;
    for (;;) {
        if (buffer.size() == 0) {
            if (skipped > 0 && draining.load()) co_return asio::error::operation_aborted;
            auto [ec, n] = co_await stream.async_read_some(buffer.prepare(4096), kTuple);
            if (ec) co_return ec;
            buffer.commit(n);
        }
        const auto* data = static_cast<const char*>(buffer.data().data());
        std::size_t blank = 0;
        while (blank < buffer.size() && skipped + blank < kMaxBlankPrefix &&
               (data[blank] == '\r' || data[blank] == '\n'))
            ++blank;
        buffer.consume(blank);
        skipped += blank;
        if (buffer.size() > 0 || skipped >= kMaxBlankPrefix) co_return beast::error_code{};
    }
}

// One connection. `server` outlives every session (run() returns only after the io_context
// has stopped, and frames still pending then are destroyed with it). `conn` is shared with the
// registry; its `stream` points at this frame's local and is cleared before the frame dies.
asio::awaitable<void> run_session(Server::Impl& server, tcp::socket socket,
                                  std::shared_ptr<Conn> conn) {
    beast::tcp_stream stream(std::move(socket));
    conn->stream = &stream;
    struct Clear {
        Conn& c;
        ~Clear() { c.stream = nullptr; }
    } clear{*conn};

    const auto& cfg = server.config.api;
    beast::error_code rec;
    std::string remote = stream.socket().remote_endpoint(rec).address().to_string();
    beast::flat_buffer buffer;
    for (;;) {
        if (server.draining.load()) break;
        http::request_parser<http::string_body> parser;
        parser.header_limit(cfg.max_header_bytes);
        // The largest limit any route has, so that the header is read; then the route's own.
        parser.body_limit(std::max<std::uint64_t>(
            cfg.max_body_bytes, server.config.outbound.max_message_bytes / 3 * 4 + 64 * 1024));
        stream.expires_after(std::chrono::seconds(cfg.idle_timeout_seconds));
        conn->idle = true;
        beast::error_code ec = co_await skip_blank_lines(stream, buffer, server.draining);
        if (!ec) {
            auto [hec, hn] = co_await http::async_read_header(stream, buffer, parser, kTuple);
            ec = hec;
        }
        conn->idle = false;
        if (!ec) {
            // Refused from the head alone, with the connection closed after the reply: a body
            // not read must not be taken for the next request.
            std::optional<Response> refusal = framing_refusal(parser);
            auto limit = body_limit_for(server, std::string_view(parser.get().method_string()),
                                        std::string_view(parser.get().target()));
            auto length = parser.content_length();
            if (!refusal && !parser.is_done() && !(length && *length > limit)) {
                // A body follows: it is read only for a request the token may make.
                refusal = server.admit(head_of(parser.get(), remote));
            }
            if (refusal) {
                auto res = to_beast(std::move(*refusal), parser.get().version(), false,
                                    parser.get().method() == http::verb::head);
                stream.expires_after(kWriteTimeout);
                auto [wec, wn] = co_await http::async_write(stream, res, kTuple);
                if (!wec) co_await linger_close(stream);
                co_return;
            }
            if (length && *length > limit) {
                ec = http::error::body_limit;
            } else {
                parser.body_limit(limit);
                // A client that asked before sending a large body (curl does past 1 MiB) is told
                // to go on; one over the limit was answered 413 above (RFC 9110 §10.1.1).
                if (!parser.is_done() && parser.get().version() >= 11 &&
                    beast::iequals(parser.get()[http::field::expect], "100-continue")) {
                    http::response<http::empty_body> go_on{http::status::continue_,
                                                           parser.get().version()};
                    stream.expires_after(kWriteTimeout);
                    auto [cec, cn] = co_await http::async_write(stream, go_on, kTuple);
                    if (cec) break;
                    stream.expires_after(std::chrono::seconds(cfg.idle_timeout_seconds));
                }
                auto [bec, bn] = co_await http::async_read(stream, buffer, parser, kTuple);
                ec = bec;
            }
        }
        if (ec) {
            unsigned status = read_error_status(ec);
            if (status == 0) break;
            auto res = to_beast(problem(status, read_error_detail(status)), 11, false);
            stream.expires_after(kWriteTimeout);
            auto [wec, wn] = co_await http::async_write(stream, res, kTuple);
            if (!wec) co_await linger_close(stream);
            co_return;
        }
        auto& req = parser.get();
        // Handled inline on this io thread: reads are short indexed SQLite lookups.
        Response response = server.respond(to_request(req, remote));
        if (response.blocking) response = co_await complete_blocking(server, std::move(response));
        if (response.deferred) response = co_await complete_write(server, std::move(response));
        bool keep_alive = req.keep_alive() && !server.draining.load();
        auto res = to_beast(std::move(response), req.version(), keep_alive,
                            req.method() == http::verb::head);
        stream.expires_after(kWriteTimeout);
        auto [wec, wn] = co_await http::async_write(stream, res, kTuple);
        if (wec || !keep_alive) break;
    }
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
}

// Over the connection cap: a short 503 and close.
asio::awaitable<void> refuse(tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    Response p = problem(503, "too many connections; try again shortly");
    p.add_header("Retry-After", "1");
    auto res = to_beast(std::move(p), 11, false);
    stream.expires_after(std::chrono::seconds(1));
    co_await http::async_write(stream, res, kTuple);
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
}

asio::awaitable<void> accept_loop(Server::Impl& server) {
    for (;;) {
        Strand strand = asio::make_strand(server.ioc);
        auto [ec, accepted] = co_await server.acceptor.async_accept(strand, kTuple);
        if (ec) {
            if (ec == asio::error::operation_aborted || !server.acceptor.is_open()) co_return;
            spdlog::warn("accept: {}", ec.message());
            // Out of descriptors or similar: back off instead of spinning.
            asio::steady_timer pause(server.acceptor.get_executor(), std::chrono::milliseconds(50));
            co_await pause.async_wait(kTuple);
            continue;
        }
        tcp::socket socket(std::move(accepted));
        if (server.draining.load()) continue;  // closes it
        if (server.active.load() >= server.config.api.max_connections) {
            asio::co_spawn(strand, refuse(std::move(socket)), LogDone{"refuse"});
            continue;
        }
        auto conn = std::make_shared<Conn>(strand);
        server.active.fetch_add(1);
        {
            std::lock_guard lock(server.mu);
            server.conns.insert(conn);
        }
        asio::co_spawn(strand, run_session(server, std::move(socket), conn),
                       SessionDone{&server, conn});
    }
}

// Waits until every connection has finished or the drain timeout passes, then stops.
asio::awaitable<void> wait_drained(Server::Impl& server) {
    auto deadline = std::chrono::steady_clock::now() +
                    std::chrono::seconds(server.config.api.drain_timeout_seconds);
    asio::steady_timer timer(co_await asio::this_coro::executor);
    while (server.active.load() > 0 && std::chrono::steady_clock::now() < deadline) {
        timer.expires_after(std::chrono::milliseconds(20));
        co_await timer.async_wait(kTuple);
    }
    if (auto left = server.active.load())
        spdlog::warn("drain timeout: closing {} connection(s)", left);
    server.ioc.stop();
}

asio::awaitable<void> wait_for_signals(Server::Impl& server) {
    auto [ec, sig] = co_await server.signals.async_wait(kTuple);
    if (ec) co_return;
    spdlog::info("signal {}: draining", sig);
    server.begin_drain();
    auto [ec2, sig2] = co_await server.signals.async_wait(kTuple);
    if (ec2) co_return;
    spdlog::warn("signal {} during drain: stopping now", sig2);
    server.ioc.stop();
}

}  // namespace

Response Server::Impl::respond(const Request& request) {
    auto db = reads.for_this_thread();
    if (!db) {
        spdlog::error("read connection: {}", db.error().message());
        return problem(503, "the database is not available; try again");
    }
    return api.handle(request, **db);
}

std::optional<Response> Server::Impl::admit(const Request& head) {
    auto db = reads.for_this_thread();
    if (!db) return std::nullopt;  // respond() answers 503 once the body is in
    auto refusal = api.admit(head, **db, now_ms());
    // handle() logs every request it answers; this one it never sees. The path only, as there.
    if (refusal)
        spdlog::debug("{} {} refused before its body: {}", head.method,
                      std::string_view(head.target).substr(0, head.target.find('?')),
                      refusal->status);
    return refusal;
}

void Server::Impl::begin_drain() {
    if (draining.exchange(true)) return;
    asio::post(acceptor.get_executor(), [this] {
        beast::error_code ec;
        acceptor.close(ec);
    });
    {
        // Sessions check `draining` before each read, so a connection registered after this
        // loop stops by itself; one waiting for a request is woken here and ends.
        std::lock_guard lock(mu);
        for (const auto& c : conns)
            asio::post(c->strand, [c] {
                if (c->stream && c->idle) c->stream->cancel();
            });
    }
    asio::co_spawn(ioc, wait_drained(*this), LogDone{"drain"});
}

Server::Server(const Config& config, Api& api, ReadPool& reads, storage::Writer* writer)
    : impl_(std::make_unique<Impl>(config, api, reads, writer)) {}

Server::~Server() = default;

Endpoint Server::listen() {
    const auto& want = impl_->config.api.listen;
    auto& acceptor = impl_->acceptor;
    try {
        boost::system::error_code ec;
        auto address = asio::ip::make_address(want.host, ec);
        tcp::endpoint ep;
        if (!ec) {
            ep = tcp::endpoint(address, want.port);
        } else {
            tcp::resolver resolver(impl_->ioc);
            ep = *resolver.resolve(want.host, std::to_string(want.port)).begin();
        }
        acceptor.open(ep.protocol());
        acceptor.set_option(asio::socket_base::reuse_address(true));
        acceptor.bind(ep);
        acceptor.listen(asio::socket_base::max_listen_connections);
        auto bound = acceptor.local_endpoint();
        return Endpoint{bound.address().to_string(), bound.port()};
    } catch (const boost::system::system_error& e) {
        throw std::runtime_error("cannot listen on " + want.str() + ": " + e.code().message());
    }
}

void Server::run() {
    auto& s = *impl_;
    asio::co_spawn(s.acceptor.get_executor(), accept_loop(s), LogDone{"accept loop"});
    asio::co_spawn(s.ioc, wait_for_signals(s), LogDone{"signals"});
    spdlog::info("serving on {} thread(s)", s.threads);
    std::vector<std::thread> pool;
    for (unsigned i = 1; i < s.threads; ++i) pool.emplace_back([&s] { s.ioc.run(); });
    s.ioc.run();
    for (auto& t : pool) t.join();
}

void Server::stop() {
    asio::post(impl_->ioc, [impl = impl_.get()] { impl->begin_drain(); });
}

}  // namespace postern::api
