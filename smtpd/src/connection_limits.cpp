#include "smtpd/connection_limits.hpp"

namespace postern::smtp {

std::optional<ConnectionLimits::Ticket> ConnectionLimits::try_acquire(std::string_view ip) {
    std::lock_guard lock(mu_);
    if (max_total_ != 0 && total_ >= max_total_) return std::nullopt;
    std::string key(ip);
    auto [it, inserted] = per_ip_.try_emplace(key, 0);
    if (max_per_ip_ != 0 && it->second >= max_per_ip_) return std::nullopt;
    ++it->second;
    ++total_;
    return Ticket(this, std::move(key));
}

void ConnectionLimits::release(const std::string& ip) {
    std::lock_guard lock(mu_);
    --total_;
    auto it = per_ip_.find(ip);
    if (it != per_ip_.end() && --it->second == 0) per_ip_.erase(it);
}

std::uint32_t ConnectionLimits::total() const {
    std::lock_guard lock(mu_);
    return total_;
}

std::uint32_t ConnectionLimits::count(std::string_view ip) const {
    std::lock_guard lock(mu_);
    auto it = per_ip_.find(std::string(ip));
    return it == per_ip_.end() ? 0 : it->second;
}

}  // namespace postern::smtp
