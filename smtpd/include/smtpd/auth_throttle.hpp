#pragma once
// Failed AUTH attempts per client address across sessions (the per-session limit is
// [submission] max_auth_failures): once an address has `max_failures` failures within `window_ms`,
// its AUTH attempts are answered 454 4.7.0 without a token lookup until the window has passed.
// Memory is bounded: at most `max_addresses` addresses are tracked (expired ones are dropped
// first; if all are live, the table starts over). Times are the caller's (milliseconds, any
// monotonic origin). Thread-safe.
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace postern::smtp {

class AuthThrottle {
 public:
    AuthThrottle(std::uint32_t max_failures, std::int64_t window_ms,
                 std::size_t max_addresses = 10000)
        : max_failures_(max_failures), window_ms_(window_ms), max_addresses_(max_addresses) {}

    // True when `ip` may try now.
    bool allowed(std::string_view ip, std::int64_t now_ms) const;
    // Records a failed attempt from `ip`.
    void failed(std::string_view ip, std::int64_t now_ms);

 private:
    struct Entry {
        std::uint32_t failures = 0;
        std::int64_t window_start = 0;
    };
    const std::uint32_t max_failures_;
    const std::int64_t window_ms_;
    const std::size_t max_addresses_;
    mutable std::mutex mu_;
    std::unordered_map<std::string, Entry> by_ip_;
};

}  // namespace postern::smtp
