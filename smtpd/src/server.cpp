#include "smtpd/server.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <mutex>
#include <stdexcept>
#include <unordered_map>

#include "connection.hpp"
#include "smtpd/proto/session.hpp"
#include "tls_context.hpp"

namespace postern::smtp {

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

// The certificate is needed by the submission listeners (AUTH only under TLS): without it they
// cannot start. The MX then goes without STARTTLS, with a warning.
std::shared_ptr<asio::ssl::context> load_tls(const Config& config) {
    std::string error;
    auto tls = make_server_tls(config, error);
    if (tls) return tls;
    if (config.submission.listen || config.submission.tls_listen)
        throw std::runtime_error(error + " (the submission listeners need it)");
    spdlog::warn("smtpd: {}; STARTTLS is not offered", error);
    return nullptr;
}

}  // namespace

struct Server::Impl {
    Impl(asio::io_context& io_, std::vector<asio::io_context*> workers_, const Config& config,
         storage::Writer& writer, dns::Resolver* resolver, asio::thread_pool* cpu_pool)
        : io(io_),
          workers(std::move(workers_)),
          services(
              std::make_shared<Services>(config, writer, resolver, cpu_pool, load_tls(config))),
          strand(asio::make_strand(io_)) {
        if (workers.empty()) workers.push_back(&io);
    }

    // The io_context for the next connection (round-robin); on `strand`.
    asio::io_context& next_worker() { return *workers[next_worker_index++ % workers.size()]; }

    asio::io_context& io;
    std::vector<asio::io_context*> workers;
    std::size_t next_worker_index = 0;
    std::shared_ptr<Services> services;
    // Acceptors, their loops and the drain all run here.
    asio::strand<asio::io_context::executor_type> strand;
    std::vector<tcp::acceptor> acceptors;
    std::vector<ListenerKind> kinds;  // one per acceptor
    std::vector<Listener> listeners;
    bool draining = false;  // on `strand`
    bool forced = false;    // on `strand`

    mutable std::mutex mu;
    std::unordered_map<std::uint64_t, std::shared_ptr<ConnectionControl>> live;
    std::uint64_t next_id = 0;
    std::atomic<std::uint64_t> accepted{0}, refused{0};

    std::size_t live_count() const {
        std::lock_guard lock(mu);
        return live.size();
    }

    // Runs `f(control)` on each live connection's io_context (its thread).
    template <class F>
    void for_each_live(F f) {
        std::lock_guard lock(mu);
        for (auto& [id, control] : live)
            asio::post(control->timer.get_executor(), [control, f] { f(*control); });
    }
};

namespace {

tcp::endpoint resolve_listen(asio::io_context& io, const Endpoint& where) {
    boost::system::error_code ec;
    auto address = asio::ip::make_address(where.host, ec);
    if (!ec) return {address, where.port};
    tcp::resolver resolver(io);
    auto results = resolver.resolve(where.host, std::to_string(where.port), ec);
    if (ec || results.empty())
        throw std::runtime_error("cannot resolve listen address " + where.str() + ": " +
                                 ec.message());
    return results.begin()->endpoint();
}

std::string client_address(const tcp::endpoint& remote) {
    auto address = remote.address();
    if (address.is_v6() && address.to_v6().is_v4_mapped())
        address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
    return address.to_string();
}

// Turns a connection away with one line, without a session: the kernel's socket buffer is
// empty, so a non-blocking write of a short reply goes through at once.
void refuse(tcp::socket& socket, const std::string& reply) {
    boost::system::error_code ec;
    socket.non_blocking(true, ec);
    socket.write_some(asio::buffer(reply), ec);
    socket.shutdown(tcp::socket::shutdown_both, ec);
    socket.close(ec);
}

struct SessionDone {
    std::shared_ptr<Server::Impl> impl;
    std::uint64_t id;
    void operator()(std::exception_ptr e) const {
        if (e) {
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& ex) {
                spdlog::error("smtpd: session failed: {}", ex.what());
            }
        }
        std::lock_guard lock(impl->mu);
        impl->live.erase(id);
    }
};

void log_failure(std::exception_ptr e) {
    if (!e) return;
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& ex) {
        spdlog::error("smtpd: {}", ex.what());
    }
}

void admit(const std::shared_ptr<Server::Impl>& impl, tcp::socket socket,
           const tcp::endpoint& remote, ListenerKind kind) {
    boost::system::error_code ec;
    std::string ip = client_address(remote);
    Services& services = *impl->services;
    if (impl->draining) {
        impl->refused.fetch_add(1, std::memory_order_relaxed);
        return refuse(socket,
                      "421 4.3.2 " + services.config.hostname + " Service shutting down\r\n");
    }
    auto ticket = services.limits.try_acquire(ip);
    if (!ticket) {
        impl->refused.fetch_add(1, std::memory_order_relaxed);
        spdlog::info("smtpd: refused {}: too many connections", ip);
        return refuse(socket, Session::too_many_connections(services.config.hostname));
    }
    impl->accepted.fetch_add(1, std::memory_order_relaxed);
    socket.set_option(tcp::no_delay(true), ec);
    auto executor = socket.get_executor();  // the connection's io_context
    auto control = std::make_shared<ConnectionControl>(executor);
    std::uint64_t id;
    {
        std::lock_guard lock(impl->mu);
        id = ++impl->next_id;
        impl->live.emplace(id, control);
    }
    spdlog::debug("smtpd: connection {} from {}", id, ip);
    asio::co_spawn(executor,
                   serve_connection(std::move(socket), impl->services, std::move(control),
                                    std::move(*ticket), std::move(ip), kind),
                   SessionDone{impl, id});
}

asio::awaitable<void> accept_loop(std::shared_ptr<Server::Impl> impl, std::size_t index) {
    tcp::acceptor& acceptor = impl->acceptors[index];
    for (;;) {
        // A connection runs on its io_context's own executor, not a strand: each io_context is
        // run by one thread (server.hpp), which already serialises the connection's handlers;
        // a strand per connection only added a lock and a queue to every step (~4% of the io
        // thread's time). Named: see the note on temporaries in ingest.cpp.
        asio::any_io_executor executor = impl->next_worker().get_executor();
        tcp::endpoint remote;  // filled in by accept itself: no getpeername per connection
        auto [ec, socket] =
            co_await acceptor.async_accept(executor, remote, asio::as_tuple(asio::use_awaitable));
        if (ec) {
            if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
            spdlog::warn("smtpd: accept failed: {}", ec.message());
            // Out of descriptors and the like: back off rather than spin.
            asio::steady_timer pause(impl->strand, 100ms);
            co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
            continue;
        }
        admit(impl, std::move(socket), remote, impl->kinds[index]);
    }
}

asio::awaitable<void> wait_for_sessions(Server::Impl& impl,
                                        std::chrono::steady_clock::time_point until) {
    asio::steady_timer tick(impl.strand);
    while (impl.live_count() > 0 && !impl.forced && std::chrono::steady_clock::now() < until) {
        tick.expires_after(20ms);
        co_await tick.async_wait(asio::as_tuple(asio::use_awaitable));
    }
}

void close_all(Server::Impl& impl) {
    impl.forced = true;
    impl.for_each_live([](ConnectionControl& c) {
        c.stop_now = true;
        c.timer.cancel();
    });
}

asio::awaitable<void> drain_sessions(std::shared_ptr<Server::Impl> impl,
                                     std::function<void()> done) {
    const auto& smtp = impl->services->config.smtp;
    impl->draining = true;
    for (auto& acceptor : impl->acceptors) {
        boost::system::error_code ec;
        acceptor.close(ec);
    }
    spdlog::info("smtpd: draining {} session(s), up to {} s", impl->live_count(),
                 smtp.drain_timeout_seconds);
    impl->for_each_live([](ConnectionControl& c) {
        c.draining = true;
        if (c.idle_wait) {
            c.stop_now = true;
            c.timer.cancel();
        }
    });
    auto start = std::chrono::steady_clock::now();
    co_await wait_for_sessions(*impl, start + std::chrono::seconds(smtp.drain_timeout_seconds));
    if (impl->live_count() > 0) {
        spdlog::warn("smtpd: closing {} session(s) still open", impl->live_count());
        close_all(*impl);
        // Sessions end at their next step; one waiting on the writer ends when it commits.
        impl->forced = false;
        co_await wait_for_sessions(*impl, std::chrono::steady_clock::now() + 10s);
    }
    spdlog::info("smtpd: drained");
    done();
}

}  // namespace

Server::Server(asio::io_context& io, std::vector<asio::io_context*> workers, const Config& config,
               storage::Writer& writer, dns::Resolver* resolver, asio::thread_pool* cpu_pool)
    : impl_(std::make_shared<Impl>(io, std::move(workers), config, writer, resolver, cpu_pool)) {
    auto open = [&](const char* name, const Endpoint& where, ListenerKind kind) {
        tcp::endpoint endpoint = resolve_listen(io, where);
        tcp::acceptor acceptor(impl_->strand);
        boost::system::error_code ec;
        acceptor.open(endpoint.protocol(), ec);
        if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
        if (!ec) acceptor.bind(endpoint, ec);
        if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
        if (ec)
            throw std::runtime_error(std::string("cannot listen on ") + where.str() + " (" + name +
                                     "): " + ec.message());
        auto bound = acceptor.local_endpoint();
        impl_->listeners.push_back(
            Listener{name, Endpoint{bound.address().to_string(), bound.port()}});
        impl_->acceptors.push_back(std::move(acceptor));
        impl_->kinds.push_back(kind);
    };
    open("mx", config.smtp.mx_listen, ListenerKind::mx);
    if (config.submission.listen)
        open("submission", *config.submission.listen, ListenerKind::submission);
    if (config.submission.tls_listen)
        open("submissions", *config.submission.tls_listen, ListenerKind::submissions);
}

Server::~Server() = default;

const std::vector<Server::Listener>& Server::listeners() const { return impl_->listeners; }

void Server::start() {
    for (std::size_t i = 0; i < impl_->acceptors.size(); ++i)
        asio::co_spawn(impl_->strand, accept_loop(impl_, i), log_failure);
}

void Server::drain(std::function<void()> done) {
    asio::post(impl_->strand, [impl = impl_, done = std::move(done)]() mutable {
        if (impl->draining) return close_all(*impl);  // asked again: hurry
        asio::co_spawn(impl->strand, drain_sessions(impl, std::move(done)), log_failure);
    });
}

void Server::force_close() {
    asio::post(impl_->strand, [impl = impl_] { close_all(*impl); });
}

Server::Stats Server::stats() const {
    Stats s;
    s.accepted = impl_->accepted.load(std::memory_order_relaxed);
    s.refused = impl_->refused.load(std::memory_order_relaxed);
    s.active = impl_->live_count();
    s.messages = impl_->services->messages.load(std::memory_order_relaxed);
    return s;
}

}  // namespace postern::smtp
