#pragma once
// Counts open connections, in all and per client address, against the configured limits
// (config.smtp.max_connections, max_connections_per_ip). A Ticket is one admitted connection;
// destroying it gives the place back. Thread-safe; the ConnectionLimits must outlive its Tickets.
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace postern::smtp {

class ConnectionLimits {
 public:
    class Ticket {
     public:
        Ticket(Ticket&& other) noexcept : owner_(other.owner_), ip_(std::move(other.ip_)) {
            other.owner_ = nullptr;
        }
        Ticket& operator=(Ticket&&) = delete;
        ~Ticket() {
            if (owner_) owner_->release(ip_);
        }

     private:
        friend class ConnectionLimits;
        Ticket(ConnectionLimits* owner, std::string ip) : owner_(owner), ip_(std::move(ip)) {}
        ConnectionLimits* owner_;
        std::string ip_;
    };

    // 0 means no limit.
    ConnectionLimits(std::uint32_t max_total, std::uint32_t max_per_ip)
        : max_total_(max_total), max_per_ip_(max_per_ip) {}

    // A ticket, or nothing when admitting `ip` would go over a limit.
    std::optional<Ticket> try_acquire(std::string_view ip);

    std::uint32_t total() const;
    std::uint32_t count(std::string_view ip) const;

 private:
    void release(const std::string& ip);

    const std::uint32_t max_total_;
    const std::uint32_t max_per_ip_;
    mutable std::mutex mu_;
    std::uint32_t total_ = 0;
    std::unordered_map<std::string, std::uint32_t> per_ip_;
};

}  // namespace postern::smtp
