#pragma once
// How much more the data directory's file system can take before it reaches its reserve
// ([smtp] min_free_bytes), from statvfs(3), asked at most once a second. Sessions read it before
// each command (Session::set_room), so that MAIL is refused with 452 4.3.1 while the disk is
// nearly full instead of failing mid-commit (RFC 5321 §4.5.3.1.10; Postfix's queue_minfree).
// Thread-safe: io threads share one.
#include <atomic>
#include <cstdint>
#include <filesystem>

namespace postern::smtp {

class DiskRoom {
 public:
    DiskRoom(std::filesystem::path dir, std::uint64_t reserve)
        : dir_(std::move(dir)), reserve_(reserve) {}

    // Bytes free to unprivileged users above the reserve (0 when below it); UINT64_MAX when the
    // file system cannot be asked (nothing is refused on a guess). `now_ms`: a monotonic clock.
    std::uint64_t room(std::int64_t now_ms);

 private:
    static constexpr std::int64_t kRecheckMs = 1000;
    const std::filesystem::path dir_;
    const std::uint64_t reserve_;
    static constexpr std::int64_t kNever = INT64_MIN;
    std::atomic<std::int64_t> checked_at_{kNever};
    std::atomic<std::uint64_t> room_{UINT64_MAX};
};

}  // namespace postern::smtp
