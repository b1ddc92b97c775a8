#include "apid/rate_limit.hpp"

#include <algorithm>
#include <cmath>

namespace postern::api {

namespace {
constexpr std::int64_t kDayMs = 86'400'000;
}

RateLimiter::RateLimiter(double rate_per_second, double burst, std::size_t max_keys)
    : rate_(rate_per_second),
      burst_(std::max(1.0, burst)),
      max_keys_(std::max<std::size_t>(1, max_keys)) {}

RateDecision RateLimiter::take(std::string_view key, std::int64_t now_ms) {
    if (rate_ <= 0) return {};
    std::lock_guard lock(mu_);
    auto it = buckets_.find(std::string(key));
    if (it == buckets_.end()) {
        if (buckets_.size() >= max_keys_) {
            // Drop the buckets that have refilled completely: forgetting them changes nothing.
            std::erase_if(buckets_, [&](const auto& kv) {
                return kv.second.tokens + double(now_ms - kv.second.last_ms) * rate_ / 1000.0 >=
                       burst_;
            });
            if (buckets_.size() >= max_keys_) buckets_.clear();
        }
        it = buckets_.emplace(std::string(key), Bucket{burst_, now_ms}).first;
    }
    Bucket& b = it->second;
    if (now_ms > b.last_ms) {
        b.tokens = std::min(burst_, b.tokens + double(now_ms - b.last_ms) * rate_ / 1000.0);
        b.last_ms = now_ms;
    }
    if (b.tokens >= 1.0) {
        b.tokens -= 1.0;
        return {};
    }
    double wait = (1.0 - b.tokens) / rate_;
    return {false, std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(wait)))};
}

Result<RateDecision> DailyQuota::take(const std::string& tenant, std::int64_t now_ms,
                                      const UsedToday& used_today) {
    if (limit_ <= 0) return RateDecision{};
    std::int64_t day_start = now_ms - now_ms % kDayMs;
    {
        std::lock_guard lock(mu_);
        auto it = days_.find(tenant);
        if (it != days_.end() && it->second.start_ms == day_start) {
            if (it->second.used >= limit_)
                return RateDecision{
                    false, std::max<std::int64_t>(1, (day_start + kDayMs - now_ms + 999) / 1000)};
            ++it->second.used;
            return RateDecision{};
        }
    }
    // First request of the day for this tenant: read what storage holds, outside the lock.
    auto used = used_today(day_start);
    if (!used) return tl::unexpected(used.error());
    std::lock_guard lock(mu_);
    auto [it, fresh] = days_.try_emplace(tenant, Day{day_start, *used});
    if (!fresh && it->second.start_ms != day_start) it->second = Day{day_start, *used};
    if (it->second.used >= limit_)
        return RateDecision{false,
                            std::max<std::int64_t>(1, (day_start + kDayMs - now_ms + 999) / 1000)};
    ++it->second.used;
    return RateDecision{};
}

}  // namespace postern::api
