#pragma once
// How much more the data directory's file system can take before it reaches its reserve
// ([smtp] min_free_bytes), from statvfs(3), asked at most once a second. postern-smtpd's
// sessions read it before each command (Session::set_room), so that MAIL is refused with
// 452 4.3.1 while the disk is nearly full instead of failing mid-commit (RFC 5321 §4.5.3.1.10;
// Postfix's queue_minfree); postern-apid's send routes read it before they store a message (507).
// Thread-safe: io threads share one.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <string>

namespace postern {

class DiskRoom {
 public:
    // `refused`: what stops while below the reserve, for the log ("MAIL gets 452 4.3.1").
    DiskRoom(std::filesystem::path dir, std::uint64_t reserve, std::string refused)
        : dir_(std::move(dir)), reserve_(reserve), refused_(std::move(refused)) {}

    // Bytes free to unprivileged users above the reserve (0 when below it); UINT64_MAX when the
    // file system cannot be asked (nothing is refused on a guess). `now_ms`: a monotonic clock.
    std::uint64_t room(std::int64_t now_ms);

 private:
    static constexpr std::int64_t kRecheckMs = 1000;
    const std::filesystem::path dir_;
    const std::uint64_t reserve_;
    const std::string refused_;
    static constexpr std::int64_t kNever = INT64_MIN;
    std::atomic<std::int64_t> checked_at_{kNever};
    std::atomic<std::uint64_t> room_{UINT64_MAX};
};

}  // namespace postern
