// The c-ares side of the resolver: the channel, its sockets watched through Asio, its timer,
// and the queries of each lookup (the first one, then CNAME follow-ups). Strand only: c-ares
// 1.18 channels are not thread-safe.
#include <poll.h>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>
#include <stdexcept>

#include "resolver_impl.hpp"
#include "resolver_reply.hpp"

namespace postern::dns {

struct Resolver::Impl::Query {
    Impl* impl = nullptr;
    std::string key;     // cache_key(question)
    Question question;   // as the caller asked it
    std::string name;    // the name asked now: question.name, then CNAME targets
    unsigned depth = 0;  // CNAME follow-ups so far
    std::uint32_t chain_ttl = std::numeric_limits<std::uint32_t>::max();
};

namespace {

constexpr int kClassIn = 1;

void init_library() {
    static const int rc = ares_library_init(ARES_LIB_INIT_ALL);
    if (rc != ARES_SUCCESS) throw std::runtime_error(std::string("c-ares: ") + ares_strerror(rc));
}

}  // namespace

void Resolver::Impl::sock_state_cb(void* data, ares_socket_t fd, int readable, int writable) {
    static_cast<Impl*>(data)->on_sock_state(fd, readable != 0, writable != 0);
}

void Resolver::Impl::query_cb(void* arg, int status, int /*timeouts*/, unsigned char* abuf,
                              int alen) {
    std::unique_ptr<Query> q(static_cast<Query*>(arg));
    Impl* impl = q->impl;
    impl->on_reply(std::move(q), status, abuf, alen);
}

void Resolver::Impl::open_channel() {
    init_library();
    ares_options o{};
    int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_SOCK_STATE_CB;
    // ares_query() neither searches nor reads HOSTALIASES; the flags say so anyway.
    o.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES;
    if (options.edns_payload > 0) {
        o.flags |= ARES_FLAG_EDNS;
        o.ednspsz = static_cast<int>(options.edns_payload);
        mask |= ARES_OPT_EDNSPSZ;
    }
    o.timeout = static_cast<int>(std::max<std::int64_t>(1, options.timeout.count()));
    o.tries = static_cast<int>(std::max(1u, options.tries));
    o.sock_state_cb = &sock_state_cb;
    o.sock_state_cb_data = this;
    ares_channel c = nullptr;
    if (const int rc = ares_init_options(&c, &o, mask); rc != ARES_SUCCESS)
        throw std::runtime_error(std::string("c-ares: ") + ares_strerror(rc));
    channel.reset(c);
    if (!options.servers.empty()) {
        if (const int rc = ares_set_servers_ports_csv(c, options.servers.c_str());
            rc != ARES_SUCCESS)
            throw std::runtime_error("dns servers \"" + options.servers +
                                     "\": " + ares_strerror(rc));
    }
}

void Resolver::Impl::close_channel() {
    timer.cancel();
    channel.reset();  // ares_destroy: its queries end with ARES_EDESTRUCTION, sockets are closed
    for (auto& [fd, w] : watches) w->descriptor.release();
    watches.clear();
}

void Resolver::Impl::start(std::string key, Question question) {
    // A burst of thousands of queries on one UDP socket overflows its receive buffer (the
    // replies arrive while the strand is still sending) and costs every dropped one a retry.
    if (active >= std::max(1u, options.max_in_flight)) {
        backlog.emplace_back(std::move(key), std::move(question));
        return;
    }
    launch(std::move(key), std::move(question));
    update_timer();
}

void Resolver::Impl::finished() {
    --active;
    while (active < std::max(1u, options.max_in_flight) && !backlog.empty()) {
        auto [key, question] = std::move(backlog.front());
        backlog.pop_front();
        {
            // Everyone waiting for it may have reached their deadline meanwhile.
            std::lock_guard lock(mu);
            const auto it = pending.find(key);
            if (it == pending.end()) continue;
            if (it->second.waiters.empty()) {
                pending.erase(it);
                continue;
            }
        }
        launch(std::move(key), std::move(question));
    }
}

void Resolver::Impl::launch(std::string key, Question question) {
    ++active;
    auto q = std::make_unique<Query>();
    q->impl = this;
    q->key = std::move(key);
    q->name = question.name;
    q->question = std::move(question);
    send(std::move(q));
}

void Resolver::Impl::send(std::unique_ptr<Query> q) {
    if (!channel) {
        complete(q->key, q->question, Answer{});  // shutting down: temperror
        return;
    }
    {
        std::lock_guard lock(mu);
        ++stats.queries;
    }
    Query* raw = q.release();  // query_cb takes it back, exactly once (c-ares' contract)
    ares_query(channel.get(), raw->name.c_str(), kClassIn, reply::rr_type(raw->question.type),
               &query_cb, raw);
}

void Resolver::Impl::on_reply(std::unique_ptr<Query> q, int status, const unsigned char* abuf,
                              int alen) {
    if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED) {
        complete(q->key, q->question, Answer{});
        return;  // the channel is going: nothing more to launch
    }
    reply::Parsed p =
        reply::read(q->question.type, q->name, status, abuf, alen, options.negative_ttl);
    Answer& a = p.answer;
    if (!p.follow.empty()) {
        q->chain_ttl = std::min(q->chain_ttl, a.ttl);
        if (q->depth >= options.max_cname_depth || !query_name(p.follow)) {
            complete(q->key, q->question, Answer{});  // too long a chain: temperror
            finished();
            return;
        }
        ++q->depth;
        q->name = std::move(p.follow);
        send(std::move(q));  // inside a c-ares callback: c-ares allows new queries here
        return;
    }
    if (q->depth > 0) {
        if (a.canonical_name.empty()) a.canonical_name = q->name;
        a.ttl = std::min(a.ttl, q->chain_ttl);
    }
    complete(q->key, q->question, std::move(a));
    finished();
}

void Resolver::Impl::on_sock_state(ares_socket_t fd, bool read, bool write) {
    auto it = watches.find(fd);
    if (!read && !write) {  // c-ares is about to close fd
        if (it != watches.end()) {
            it->second->descriptor.release();  // cancels our waits; their handlers see no watch
            watches.erase(it);
        }
        return;
    }
    if (it == watches.end()) {
        auto w = std::make_unique<Watch>(io);
        boost::system::error_code ec;
        w->descriptor.assign(fd, ec);
        if (ec) return;  // not watched: c-ares' timeout ends the queries on it
        w->generation = ++next_generation;
        it = watches.emplace(fd, std::move(w)).first;
    }
    it->second->want_read = read;
    it->second->want_write = write;
    arm(fd);
}

void Resolver::Impl::arm(ares_socket_t fd) {
    const auto it = watches.find(fd);
    if (it == watches.end()) return;
    Watch& w = *it->second;
    short events = 0;
    auto wait = [&](bool write) {
        auto handler = [weak = weak_from_this(), fd, gen = w.generation,
                        write](const boost::system::error_code& ec) {
            if (auto self = weak.lock(); self && ec != asio::error::operation_aborted)
                self->on_ready(fd, gen, write);
        };
        w.descriptor.async_wait(write ? asio::posix::descriptor_base::wait_write
                                      : asio::posix::descriptor_base::wait_read,
                                asio::bind_executor(strand, std::move(handler)));
    };
    if (w.want_read && !w.reading) {
        w.reading = true;
        events |= POLLIN;
        wait(false);
    }
    if (w.want_write && !w.writing) {
        w.writing = true;
        events |= POLLOUT;
        wait(true);
    }
    if (events == 0) return;
    // Asio's epoll reactor is edge-triggered and runs a wait only on an edge that comes while
    // the wait is queued. A datagram that arrived before this wait was queued (between the
    // last ares_process_fd and now) raised its edge earlier and would sit unread until a
    // retry. So look once, now that the wait is queued: later arrivals will complete it.
    pollfd p{fd, events, 0};
    if (::poll(&p, 1, 0) <= 0 || p.revents == 0) return;
    const bool readable = (p.revents & (POLLIN | POLLERR | POLLHUP)) != 0;
    const bool writable = (p.revents & POLLOUT) != 0;
    asio::post(strand, [weak = weak_from_this(), fd, gen = w.generation, readable, writable] {
        auto self = weak.lock();
        if (!self) return;
        const auto it = self->watches.find(fd);
        if (it == self->watches.end() || it->second->generation != gen) return;
        self->process(readable ? fd : ARES_SOCKET_BAD, writable ? fd : ARES_SOCKET_BAD);
    });
}

void Resolver::Impl::on_ready(ares_socket_t fd, std::uint64_t generation, bool write) {
    const auto it = watches.find(fd);
    if (it == watches.end() || it->second->generation != generation) return;  // closed since
    Watch& w = *it->second;
    (write ? w.writing : w.reading) = false;
    if (write ? w.want_write : w.want_read)
        process(write ? ARES_SOCKET_BAD : fd, write ? fd : ARES_SOCKET_BAD);
    arm(fd);  // fd may be closed (no watch) or watched under a new generation by now
}

void Resolver::Impl::process(ares_socket_t read_fd, ares_socket_t write_fd) {
    if (!channel) return;
    ares_process_fd(channel.get(), read_fd, write_fd);  // also handles timeouts and retries
    update_timer();
}

void Resolver::Impl::update_timer() {
    if (!channel) return;
    timeval tv{};
    const timeval* t = ares_timeout(channel.get(), nullptr, &tv);
    if (t == nullptr) {
        timer.cancel();  // no query pending
        return;
    }
    // At least a millisecond: c-ares rounds, and a zero wait would spin until it agrees.
    const auto wait = std::max<std::chrono::microseconds>(
        std::chrono::milliseconds(1),
        std::chrono::seconds(t->tv_sec) + std::chrono::microseconds(t->tv_usec));
    timer.expires_after(wait);  // cancels the previous wait
    timer.async_wait(
        asio::bind_executor(strand, [weak = weak_from_this()](const boost::system::error_code& ec) {
            if (ec) return;
            if (auto self = weak.lock()) self->process(ARES_SOCKET_BAD, ARES_SOCKET_BAD);
        }));
}

}  // namespace postern::dns
