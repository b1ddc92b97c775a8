#pragma once
// The SMTP server: listeners, connection limits, one session coroutine per connection, and the
// graceful drain. Built by postern-smtpd's main (and by tests).
//
// Threads: the listeners and the drain run on `io`. Connections are dealt round-robin to the
// `workers` io_contexts (or all to `io` when there are none). Each io_context must be run by
// exactly one thread (main runs one per thread): a connection's handlers run on its io_context's
// executor without a strand, serialised by that one thread; it never changes thread, and no
// thread wakes another to run it.
//
// Ownership: the io_contexts, the Config, the Writer (and the Resolver and pool) are the caller's
// and must outlive the Server; the Server must outlive io_context::run() (sessions refer to it).
// Asio stays out of this header (pimpl) so that including it is cheap.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/config.hpp"

namespace boost::asio {
class io_context;
class thread_pool;
}  // namespace boost::asio

namespace postern::storage {
class Writer;
}
namespace postern::dns {
class Resolver;
}

namespace postern::smtp {

class Server {
 public:
    struct Listener {
        std::string name;   // "mx", "submission" (STARTTLS) or "submissions" (implicit TLS)
        Endpoint endpoint;  // as bound: the real port when the config said 0
    };

    struct Stats {
        std::uint64_t accepted = 0;  // connections admitted
        std::uint64_t refused = 0;   // turned away over a limit (421 4.7.0)
        std::uint64_t active = 0;    // sessions open now
        std::uint64_t messages = 0;  // transactions stored (250 after DATA)
    };

    // Opens and binds the listeners (config.smtp.mx_listen, and config.submission's listen and
    // tls_listen when set) and loads the TLS certificate. Throws std::runtime_error with one
    // clear line when a listener cannot be bound, or when submission is configured and the
    // certificate cannot be loaded (start-up errors).
    // Mail authentication (config.auth) runs when `resolver` is given. DKIM verification when
    // checks run, and the MIME summary of a large message, happen on `cpu_pool` when given, else
    // on the session's thread. Both are the caller's and must outlive every io_context's run();
    // stop the pool only after run() returned.
    Server(boost::asio::io_context& io, std::vector<boost::asio::io_context*> workers,
           const Config& config, storage::Writer& writer, dns::Resolver* resolver = nullptr,
           boost::asio::thread_pool* cpu_pool = nullptr);
    Server(boost::asio::io_context& io, const Config& config, storage::Writer& writer)
        : Server(io, {}, config, writer) {}
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    const std::vector<Listener>& listeners() const;

    // Starts accepting. Call once.
    void start();

    // Graceful stop (SIGTERM): stops accepting; closes idle sessions at once with 421 4.3.2;
    // lets sessions in a mail transaction finish for config.smtp.drain_timeout_seconds; then
    // closes what remains. Calls `done` (on an io thread) once every session has ended.
    // Thread-safe; later calls only hasten the end (see force_close()).
    void drain(std::function<void()> done);

    // Closes every session now (a second signal). Thread-safe.
    void force_close();

    Stats stats() const;

    struct Impl;

 private:
    std::shared_ptr<Impl> impl_;
};

}  // namespace postern::smtp
