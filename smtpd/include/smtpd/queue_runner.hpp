#pragma once
// The outbound queue runner of postern-smtpd: claims due deliveries from storage with a lease,
// groups recipients of one message at one domain into one SMTP transaction, signs the message
// with the sending domain's DKIM keys (on a worker pool), finds the destination (route, MX,
// implicit MX), delivers with the SMTP client, and records each outcome with its event and any
// DSN through the group-commit writer. See docs/outbound.md.
//
// Threads: everything but signing runs on the one io_context given (a single-threaded one);
// signing and message loading run on `pool`. The io_context, writer, resolver and pool outlive
// the runner's work (main's objects); the runner itself may be destroyed after run() returned.
#include <cstdint>
#include <functional>
#include <memory>

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

namespace postern::smtp::outbound {

struct RunnerStats {
    std::uint64_t attempts = 0;  // SMTP transactions tried (one per group)
    std::uint64_t delivered = 0, deferred = 0, bounced = 0;  // recipients
};

class QueueRunner {
 public:
    QueueRunner(boost::asio::io_context& io, const Config& config, storage::Writer& writer,
                dns::Resolver& resolver, boost::asio::thread_pool& pool);
    ~QueueRunner();
    QueueRunner(const QueueRunner&) = delete;
    QueueRunner& operator=(const QueueRunner&) = delete;

    void start();
    // Claims nothing more; `done` is called (on the io_context) once the attempts in flight
    // have recorded their outcomes.
    void drain(std::function<void()> done);
    RunnerStats stats() const;

    struct Impl;

 private:
    std::shared_ptr<Impl> impl_;
};

}  // namespace postern::smtp::outbound
