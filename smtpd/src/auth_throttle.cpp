#include "smtpd/auth_throttle.hpp"

namespace postern::smtp {

bool AuthThrottle::allowed(std::string_view ip, std::int64_t now_ms) const {
    if (max_failures_ == 0) return true;
    std::lock_guard lock(mu_);
    auto it = by_ip_.find(std::string(ip));
    if (it == by_ip_.end()) return true;
    const Entry& e = it->second;
    return now_ms - e.window_start >= window_ms_ || e.failures < max_failures_;
}

void AuthThrottle::failed(std::string_view ip, std::int64_t now_ms) {
    if (max_failures_ == 0) return;
    std::lock_guard lock(mu_);
    auto it = by_ip_.find(std::string(ip));
    if (it == by_ip_.end()) {
        if (by_ip_.size() >= max_addresses_) {
            std::erase_if(by_ip_, [&](const auto& kv) {
                return now_ms - kv.second.window_start >= window_ms_;
            });
            if (by_ip_.size() >= max_addresses_) by_ip_.clear();
        }
        it = by_ip_.emplace(std::string(ip), Entry{0, now_ms}).first;
    }
    Entry& e = it->second;
    if (now_ms - e.window_start >= window_ms_) e = Entry{0, now_ms};
    ++e.failures;
}

}  // namespace postern::smtp
