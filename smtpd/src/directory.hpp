#pragma once
// Recipient lookups for RCPT TO, on the calling io thread, through a read-only database
// connection kept per thread (storage::Database is single-threaded). An indexed lookup in WAL
// mode never waits for the writer, so it does not block the loop, but it is not free (below).
// Thread-safe: every thread gets its own connection; the remembered accepts are shared, behind
// a mutex held only to find or insert one.
//
// Accepted recipients are remembered for Options::accept_ttl ([smtp] recipient_cache_ms) from
// the database lookup that accepted them (a hit does not extend it). Under load the writer
// commits many times a second, and each commit made the next lookup start a fresh read
// transaction and re-read the index pages it had cached (file locks, preads): about an eighth
// of the io thread's CPU per message (docs/performance.md, round 11). Only accepts are kept: a
// mailbox added is found at once, and mailboxes are never removed or renamed. What an accept
// can miss for up to the TTL is a more specific mailbox added after it: agent+tag@ added while
// agent+tag@ still goes to agent@, or postmaster@ while it still goes to the domain's first
// mailbox. At most Options::accept_cache_entries are kept; when full, the oldest goes.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

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
        // How long an accept is remembered ([smtp] recipient_cache_ms); zero: not at all.
        std::chrono::milliseconds accept_ttl{1000};
        // At most this many are; when full, the oldest goes.
        std::size_t accept_cache_entries = 10000;
    };
    RecipientDirectory(std::filesystem::path db_path, Options options);
    explicit RecipientDirectory(std::filesystem::path db_path);  // with the default Options

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
    RecipientVerdict lookup_in_database(std::string_view key, std::string_view domain,
                                        bool postmaster) const;

    using Clock = std::chrono::steady_clock;
    struct Remembered {
        RecipientVerdict verdict;
        Clock::time_point expires;
    };

    std::filesystem::path db_path_;
    Options options_;
    std::uint64_t generation_;  // tells this directory's per-thread connections from others'
    // The key is the address key and a byte for the postmaster flag (lookup()). Every entry
    // lives accept_ttl, so the order of insertion is the order of expiry: `expiries_` holds the
    // keys in that order, and the expired, or when full the oldest, are dropped from its front.
    mutable std::mutex accepts_mu_;
    mutable std::unordered_map<std::string, Remembered> accepts_;
    mutable std::deque<std::pair<Clock::time_point, std::string>> expiries_;
};

}  // namespace postern::smtp
