#pragma once
// Token buckets keyed by a string (a tenant id, a client IP): `rate` tokens per second up to
// `burst`; each request takes one. A refused request learns how many whole seconds to wait
// (Retry-After). Buckets idle long enough to be full again are dropped when the map reaches
// `max_keys`, so memory stays bounded whatever the key space. A rate of 0 means unlimited.
// Thread-safe (one mutex; the critical section is a hash lookup and some arithmetic).
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/result.hpp"

namespace postern::api {

struct RateDecision {
    bool allowed = true;
    std::int64_t retry_after_seconds = 0;  // when refused: at least 1
};

class RateLimiter {
 public:
    RateLimiter(double rate_per_second, double burst, std::size_t max_keys = 100000);
    RateDecision take(std::string_view key, std::int64_t now_ms);

 private:
    struct Bucket {
        double tokens;
        std::int64_t last_ms;
    };
    double rate_;
    double burst_;
    std::size_t max_keys_;
    std::mutex mu_;
    std::unordered_map<std::string, Bucket> buckets_;  // guarded by mu_
};

// A per-tenant allowance per UTC day (persistent quota). The first request of a tenant in a day
// asks `used_today(day_start_ms)` how many units storage already holds (so a restart does not
// reset the day); later ones count in memory. A limit of 0 means unlimited. Thread-safe.
class DailyQuota {
 public:
    explicit DailyQuota(std::int64_t limit) : limit_(limit) {}
    using UsedToday = std::function<Result<std::int64_t>(std::int64_t day_start_ms)>;
    // Errors from `used_today` are passed on (the caller answers 503).
    [[nodiscard]] Result<RateDecision> take(const std::string& tenant, std::int64_t now_ms,
                                            const UsedToday& used_today);
    std::int64_t limit() const { return limit_; }

 private:
    struct Day {
        std::int64_t start_ms;
        std::int64_t used;
    };
    std::int64_t limit_;
    std::mutex mu_;
    std::unordered_map<std::string, Day> days_;  // guarded by mu_
};

}  // namespace postern::api
