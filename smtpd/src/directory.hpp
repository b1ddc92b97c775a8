#pragma once
// Recipient lookups for RCPT TO, on the calling io thread, through a read-only database
// connection kept per thread (storage::Database is single-threaded). An indexed lookup in WAL
// mode is a few microseconds and never waits for the writer, so it does not block the loop.
// Thread-safe: every thread gets its own connection.
#include <cstdint>
#include <filesystem>
#include <string_view>

#include "smtpd/proto/actions.hpp"

namespace postern::smtp {

class RecipientDirectory {
 public:
    explicit RecipientDirectory(std::filesystem::path db_path);

    // accept (with the mailbox), no_such_user (hosted domain), not_hosted, or temp_failure.
    RecipientVerdict lookup(std::string_view key, std::string_view domain) const;

 private:
    std::filesystem::path db_path_;
    std::uint64_t generation_;  // tells this directory's per-thread connections from others'
};

}  // namespace postern::smtp
