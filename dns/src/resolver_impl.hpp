#pragma once
// Private to the resolver: the state behind dns::Resolver. Two halves:
//   resolver.cpp          lookups: name checks, the cache, callers waiting (with deadlines),
//                         the table of queries in flight. Any thread, under `mu`.
//   resolver_channel.cpp  the c-ares channel, its sockets and its timer. On `strand` only.
//
// Handlers queued on the io_context hold a weak_ptr to the Impl, so a handler that runs after
// the Resolver is gone does nothing. c-ares callbacks get a raw Impl*: they only run inside
// ares_* calls made on the strand by a handler that holds the Impl alive.
#include <ares.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "dns/cache.hpp"
#include "dns/resolver.hpp"

namespace postern::dns {

namespace asio = boost::asio;

struct Resolver::Impl : std::enable_shared_from_this<Resolver::Impl> {
    Impl(asio::io_context& io, ResolverOptions options);
    ~Impl();

    // --- resolver.cpp: any thread -------------------------------------------------------
    void lookup(Question q, Deadline deadline, Callback done);
    std::optional<Answer> try_cached(const Question& q);
    // Stores the answer of the query for `key`, and hands it to everyone waiting for it.
    void complete(const std::string& key, const Question& question, Answer answer);
    // A caller's deadline passed: it gets temperror; the query goes on.
    void expire(const std::string& key, std::uint64_t waiter);
    void deliver(Callback done, Answer answer);
    // Ends everything: the channel (its queries complete with temperror), then callers whose
    // query never started. Called by ~Resolver, with no other thread in the resolver.
    void shutdown();

    // --- resolver_channel.cpp: on the strand --------------------------------------------
    struct Query;  // one lookup's queries in c-ares (the first one and CNAME follow-ups)
    void open_channel();
    void start(std::string key, Question question);  // or queues it, past max_in_flight
    void launch(std::string key, Question question);
    void finished();  // a lookup's last query ended: launch the next queued one
    void send(std::unique_ptr<Query> query);
    void on_reply(std::unique_ptr<Query> query, int status, const unsigned char* abuf, int alen);
    void on_sock_state(ares_socket_t fd, bool read, bool write);
    void on_ready(ares_socket_t fd, std::uint64_t generation, bool write);
    void process(ares_socket_t read_fd, ares_socket_t write_fd);
    void arm(ares_socket_t fd);
    void update_timer();
    void close_channel();
    static void sock_state_cb(void* data, ares_socket_t fd, int readable, int writable);
    static void query_cb(void* arg, int status, int timeouts, unsigned char* abuf, int alen);

    struct Waiter {
        std::uint64_t id = 0;
        Callback done;
        std::unique_ptr<asio::steady_timer> deadline;  // null without a deadline
    };
    struct Pending {
        std::vector<Waiter> waiters;
    };
    // A socket c-ares opened. Asio's epoll reactor is edge-triggered and does not try wait
    // operations speculatively, so arm() also polls once after queueing a wait (see there).
    struct Watch {
        explicit Watch(asio::io_context& io) : descriptor(io) {}
        asio::posix::stream_descriptor descriptor;  // released, never closed: c-ares owns fd
        std::uint64_t generation = 0;
        bool want_read = false, want_write = false;  // what c-ares asked for
        bool reading = false, writing = false;       // waits queued
    };

    asio::io_context& io;
    asio::strand<asio::io_context::executor_type> strand;
    const ResolverOptions options;

    struct ChannelDeleter {
        void operator()(ares_channel c) const { ares_destroy(c); }
    };
    using ChannelPtr = std::unique_ptr<std::remove_pointer_t<ares_channel>, ChannelDeleter>;

    // Strand only.
    ChannelPtr channel;
    asio::steady_timer timer;  // runs ares_process_fd for c-ares' timeouts and retries
    std::unordered_map<ares_socket_t, std::unique_ptr<Watch>> watches;
    std::uint64_t next_generation = 0;
    std::size_t active = 0;                                // lookups with a query in c-ares
    std::deque<std::pair<std::string, Question>> backlog;  // lookups waiting for a slot

    // Under mu.
    mutable std::mutex mu;
    AnswerCache cache;
    std::unordered_map<std::string, Pending> pending;  // by cache_key()
    std::uint64_t next_waiter = 0;
    ResolverStats stats;
    bool closed = false;
};

}  // namespace postern::dns
