#pragma once
// The DNS resolver: c-ares 1.18 driven by the daemon's Asio io_context through c-ares' socket
// callbacks (no thread per query), with an answer cache (dns/cache.hpp) and in-flight
// de-duplication: concurrent lookups of one question share one query.
//
// This header includes neither Asio nor c-ares. Coroutines use "dns/asio_resolver.hpp"
// (`co_await lookup(resolver, question)`); the sans-I/O evaluators run through
// "dns/async_eval.hpp".
//
// Answers follow dns/types.hpp: TXT strings joined, MX sorted by preference (a null MX has
// host ""), CNAMEs followed (at most max_cname_depth queries after the first) with the final
// name in canonical_name. NXDOMAIN and NODATA carry the negative TTL of the reply's SOA
// (min(TTL, MINIMUM), RFC 2308). Timeouts, SERVFAIL, REFUSED and unreadable replies are
// temperror (never cached); a name that cannot be asked (see query_name()) is permerror.
//
// Threads: lookup(), try_cached() and stats() may be called from any thread. The c-ares
// channel is used only on the resolver's strand (c-ares 1.18 channels are not thread-safe);
// the cache and the table of lookups in flight are guarded by a mutex. Callbacks run on the
// io_context, posted: never inside lookup().
//
// Lifetime: the io_context must outlive the Resolver. Destroy the Resolver while no other
// thread uses it (after run() returned, or from the io thread of a one-thread io_context);
// lookups still in flight then complete with temperror, if the io_context runs again.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "dns/cache.hpp"
#include "dns/types.hpp"

namespace boost::asio {
class io_context;
}
namespace postern {
struct DnsConfig;
}

namespace postern::dns {

struct ResolverOptions {
    // "host:port,host:port" (ares_set_servers_ports_csv; IPv6 as "[::1]:53"); "" reads
    // /etc/resolv.conf.
    std::string servers;
    // The first try's timeout. c-ares 1.18 doubles it after each round over the servers, so
    // with one server a lookup gives up after timeout * (2^tries - 1).
    std::chrono::milliseconds timeout{2000};
    unsigned tries = 3;
    CacheOptions cache;
    std::uint32_t negative_ttl = 300;  // for NXDOMAIN/NODATA replies without an SOA
    unsigned max_cname_depth = 8;      // CNAME follow-up queries per lookup
    // Lookups with a query at c-ares at once; more wait their turn in order. c-ares 1.18 sends
    // them all from one UDP socket: against nsd on loopback, 10000 at once lost 14000 datagrams
    // to full socket buffers (and 2000 lookups to timeouts), 200 at a time still lost a few,
    // 100 at a time none (and took 0.45 s).
    unsigned max_in_flight = 100;
    unsigned edns_payload = 1232;  // EDNS0 UDP payload size; 0: plain DNS (512 octets)
};

// The options a `[dns]` configuration section asks for.
ResolverOptions resolver_options(const DnsConfig& config);

struct ResolverStats {
    std::uint64_t lookups = 0;           // questions asked through lookup() or try_cached() hits
    std::uint64_t cache_hits = 0;        // answered from the cache
    std::uint64_t coalesced = 0;         // joined a query already in flight
    std::uint64_t queries = 0;           // queries handed to c-ares, CNAME follow-ups included
    std::uint64_t deadline_expired = 0;  // callers answered temperror at their deadline
    std::size_t cache_entries = 0;
};

class Resolver {
 public:
    using Callback = std::function<void(Answer)>;
    using Deadline = std::chrono::steady_clock::time_point;

    // Throws std::runtime_error when c-ares cannot start or `servers` is malformed.
    Resolver(boost::asio::io_context& io, ResolverOptions options);
    ~Resolver();
    Resolver(const Resolver&) = delete;
    Resolver& operator=(const Resolver&) = delete;

    // Answers `q` through `done`, posted to the io_context.
    void lookup(Question q, Callback done);
    // The same, but `done` is answered temperror at `deadline` if the answer has not come by
    // then. The query goes on, and its answer still fills the cache.
    void lookup(Question q, Deadline deadline, Callback done);

    // The cached answer to `q`, if there is one: for callers that then need not suspend. A hit
    // counts as a lookup; a miss counts nothing (the lookup() that follows does).
    std::optional<Answer> try_cached(const Question& q);

    ResolverStats stats() const;
    boost::asio::io_context& context() const;

 private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace postern::dns
