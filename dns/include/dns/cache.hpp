#pragma once
// The resolver's answer cache: least-recently-used with a bound on entries, TTLs honoured (and
// capped), negative answers (NXDOMAIN, NODATA) cached for their negative TTL (RFC 2308), and
// failures (temperror, permerror) never cached. Pure code: no clock inside (`now` is an argument,
// so tests inject time), no locking (the owner serialises access; the Resolver holds a mutex).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "dns/types.hpp"

namespace postern::dns {

using CacheClock = std::chrono::steady_clock;

struct CacheOptions {
    std::size_t max_entries = 100000;        // beyond it the least recently used go; 0: no cache
    std::uint32_t max_ttl = 86400;           // positive answers are kept at most a day
    std::uint32_t max_negative_ttl = 10800;  // NXDOMAIN/NODATA at most 3 h (RFC 2308 §5)
};

// `name` as it may be asked: without one trailing dot, 1 to 253 octets, labels of 1 to 63
// octets, and no backslash or control character (c-ares would read a backslash as an escape).
// nullopt when it cannot be a DNS name: the resolver answers permerror without a query.
std::optional<std::string_view> query_name(std::string_view name);

// The cache key of a question: its type and its name, lowercased, without the trailing dot.
std::string cache_key(const Question& q);

class AnswerCache {
 public:
    using Time = CacheClock::time_point;

    explicit AnswerCache(CacheOptions options = {});

    // The answer stored for `q`, its ttl lowered to the seconds left, or nullopt when there is
    // none or it has expired (an expired entry is dropped). A hit makes the entry most recent.
    std::optional<Answer> get(const Question& q, Time now);

    // Stores `a` for `q` when it is ok, nodata or nxdomain with a ttl above zero, for
    // min(ttl, cap) seconds; replaces an earlier entry. Anything else is ignored.
    void put(const Question& q, const Answer& a, Time now);

    void clear();
    std::size_t size() const { return index_.size(); }

    struct Stats {
        std::uint64_t hits = 0, misses = 0, expired = 0, evicted = 0, stored = 0;
    };
    const Stats& stats() const { return stats_; }

 private:
    struct Entry {
        std::string key;
        Answer answer;
        Time expires;
    };
    using List = std::list<Entry>;

    // Builds the key of `q` in scratch_ (no allocation once it has grown).
    std::string_view key_of(const Question& q);
    void erase(List::iterator it);

    CacheOptions options_;
    List lru_;                                                    // most recent first
    std::unordered_map<std::string_view, List::iterator> index_;  // views into lru_ keys
    std::string scratch_;
    Stats stats_;
};

}  // namespace postern::dns
