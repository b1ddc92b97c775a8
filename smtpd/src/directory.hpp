#pragma once
// Recipient lookups for RCPT TO, on the calling io thread, through a read-only database
// connection kept per thread (storage::Database is single-threaded). An indexed lookup in WAL
// mode is a few microseconds and never waits for the writer, so it does not block the loop.
// Thread-safe: every thread gets its own connection.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "smtpd/proto/actions.hpp"

namespace postern::storage {
class Database;
}

namespace postern::smtp {

class RecipientDirectory {
 public:
    struct Options {
        // The key of the mailbox that takes postmaster's mail ([smtp] postmaster), or empty.
        std::string postmaster;
        // [smtp] recipient_delimiter: "+" makes agent+tag@ reach agent@. Empty: off.
        std::string recipient_delimiter;
        // The server's name ([hostname], which load_config gives lowercased, as an A-label):
        // <Postmaster> with no domain goes to the first mailbox of this domain or of its nearest
        // hosted parent when `postmaster` is empty.
        std::string hostname;
    };
    explicit RecipientDirectory(std::filesystem::path db_path, Options options = {});

    // accept (with the mailbox), no_such_user (hosted domain), not_hosted, or temp_failure.
    // The mailbox with the whole address wins; else, with a delimiter in the local part, the
    // mailbox named by what comes before it. `postmaster`: the local part is "postmaster"
    // (LookupRecipient); with no mailbox of that name in a hosted domain, or with no domain at
    // all, the configured mailbox takes it, or without one the domain's first mailbox (for no
    // domain: the hostname's).
    RecipientVerdict lookup(std::string_view key, std::string_view domain,
                            bool postmaster = false) const;

    // AUTH on a submission listener: `username` must be a mailbox address and `password` a
    // token that may submit for it (smtpd/submit_policy.hpp). When `require_verified_domain`,
    // the verdict carries the refusal for MAIL FROM if the mailbox's domain cannot send yet.
    AuthVerdict authenticate(std::string_view username, std::string_view password,
                             bool require_verified_domain, std::int64_t now_ms) const;

 private:
    // This thread's read connection, opened on first use; null when it cannot be opened.
    storage::Database* connection() const;

    std::filesystem::path db_path_;
    Options options_;
    std::uint64_t generation_;  // tells this directory's per-thread connections from others'
};

}  // namespace postern::smtp
