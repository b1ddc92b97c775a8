#pragma once
// What every session uses: the configuration, the writer, the recipient directory, the
// connection limits, the CPU pool, and, for mail authentication, the resolver.
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "common/config.hpp"
#include "common/disk_room.hpp"
#include "common/result.hpp"
#include "directory.hpp"
#include "smtpd/auth_throttle.hpp"
#include "smtpd/connection_limits.hpp"
#include "smtpd/proto/actions.hpp"

namespace boost::asio {
class thread_pool;
namespace ssl {
class context;
}
}  // namespace boost::asio
namespace postern::storage {
class Writer;
}
namespace postern::dns {
class Resolver;
}

namespace postern::smtp {

// Shared by the server and every session frame, so that a frame destroyed late (when an
// io_context is torn down with sessions suspended) still finds it. The writer, the resolver and
// the pool are main's and outlive every io_context's run().
struct Services {
    Services(Config c, storage::Writer& w, dns::Resolver* r, boost::asio::thread_pool* p,
             std::shared_ptr<boost::asio::ssl::context> t)
        : config(std::move(c)),
          writer(w),
          resolver(r),
          cpu_pool(p),
          tls(std::move(t)),
          directory(config.database_path(),
                    {config.smtp.postmaster, config.smtp.recipient_delimiter, config.hostname,
                     std::chrono::milliseconds(config.smtp.recipient_cache_ms)}),
          limits(config.smtp.max_connections, config.smtp.max_connections_per_ip),
          disk_room(config.database_path().parent_path(), config.smtp.min_free_bytes,
                    "MAIL gets 452 4.3.1") {}

    // SPF, DKIM and DMARC run: [auth] enabled, and there is a resolver to ask.
    bool checks() const { return config.auth.enabled && resolver != nullptr; }

    const Config config;
    storage::Writer& writer;
    dns::Resolver* const resolver;             // null: no checks
    boost::asio::thread_pool* const cpu_pool;  // null: summaries and DKIM on the session's thread
    // The server's certificate and key (tls_cert, tls_key); null when they could not be loaded:
    // then the MX offers no STARTTLS (submission listeners refuse to start without it).
    // Sessions only read it (SSL_new on a shared SSL_CTX is thread-safe).
    const std::shared_ptr<boost::asio::ssl::context> tls;
    RecipientDirectory directory;
    ConnectionLimits limits;
    DiskRoom disk_room;  // [smtp] min_free_bytes
    // Failed AUTH per client address across sessions: kAuthFailuresPerIp in kAuthWindowMs.
    static constexpr std::uint32_t kAuthFailuresPerIp = 20;
    static constexpr std::int64_t kAuthWindowMs = 10 * 60 * 1000;
    AuthThrottle auth_throttle{kAuthFailuresPerIp, kAuthWindowMs};
    std::atomic<std::uint64_t> messages{0};
};

// The outcome of a store or queue job that failed: 452 4.3.1 when the disk (or the database's
// size limit) was full, SQLITE_FULL; 451 4.3.0 otherwise.
inline StoreOutcome not_stored(std::string id, const Error& error) {
    StoreOutcome outcome{false, std::move(id), {}};
    outcome.no_room = error.code() == Errc::no_space;
    return outcome;
}

}  // namespace postern::smtp
