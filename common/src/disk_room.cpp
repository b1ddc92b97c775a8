#include "common/disk_room.hpp"

#include <spdlog/spdlog.h>
#include <sys/statvfs.h>

#include <cerrno>
#include <cstring>

namespace postern {

std::uint64_t DiskRoom::room(std::int64_t now_ms) {
    std::int64_t at = checked_at_.load(std::memory_order_relaxed);
    // One thread asks again; the others keep the last answer meanwhile.
    if ((at != kNever && now_ms - at < kRecheckMs) ||
        !checked_at_.compare_exchange_strong(at, now_ms, std::memory_order_relaxed))
        return room_.load(std::memory_order_relaxed);
    struct statvfs fs {};
    std::uint64_t room = UINT64_MAX;
    if (::statvfs(dir_.c_str(), &fs) == 0) {
        const std::uint64_t free = static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize;
        room = free > reserve_ ? free - reserve_ : 0;
    } else {
        spdlog::warn("cannot ask how much room {} has: {}", dir_.string(), std::strerror(errno));
    }
    const std::uint64_t before = room_.exchange(room, std::memory_order_relaxed);
    if (room == 0 && before != 0)
        spdlog::error("{} has less than smtp.min_free_bytes ({}) free: {}", dir_.string(), reserve_,
                      refused_);
    else if (room != 0 && before == 0)
        spdlog::info("{} has room again", dir_.string());
    return room;
}

}  // namespace postern
