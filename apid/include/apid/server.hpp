#pragma once
// The HTTP/1.1 server of postern-apid (Boost.Beast, C++20 coroutines). One io_context run by
// `config.threads` threads (0 = one per core); one named coroutine per connection on its own
// strand; keep-alive with an idle timeout; at most `api.max_connections` connections (more get
// 503 and are closed). SIGTERM/SIGINT (or stop()) drains: the listener closes, idle connections
// are closed, requests in flight finish within `api.drain_timeout_seconds`, then run() returns.
// A second signal stops at once.
//
// Asio and Beast stay in src/server.cpp (pimpl). `config`, `api`, `reads` and `writer` must
// outlive the Server. listen() and run() are called from main's thread; stop() from any thread.
#include <memory>

#include "apid/api.hpp"
#include "apid/read_pool.hpp"
#include "common/config.hpp"
#include "storage/writer.hpp"

namespace postern::api {

class Server {
 public:
    // `writer` commits the deferred writes of state-changing routes (null: they get 503).
    Server(const Config& config, Api& api, ReadPool& reads, storage::Writer* writer = nullptr);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Binds and listens on config.api.listen; returns the bound address (the real port when the
    // configuration says 0). Throws std::runtime_error with one clear line on failure.
    Endpoint listen();
    // Serves until drained. Blocks.
    void run();
    // Begins the drain. Thread-safe.
    void stop();

    struct Impl;

 private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace postern::api
