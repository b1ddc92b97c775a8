#pragma once
// The outbound queue as the runner in postern-smtpd and `postern queue` see it: leased claims of
// due deliveries, attempt outcomes recorded with their events (and DSNs) in one transaction, the
// retry schedule, and the admin operations. Rows are the `deliveries` of migrations/0005.
//
// Crash safety: a claim sets lease_until; a runner that dies mid-attempt (SIGKILL included)
// leaves the row leased, and it becomes due again when the lease runs out. Nothing is dropped:
// rows leave the queue only by reaching delivered, bounced or cancelled.
//
// Writes (claim_due, record_outcomes, retry_now, cancel) run inside a transaction: a Writer job
// in the daemons, a Transaction in the CLI.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/config.hpp"
#include "common/result.hpp"
#include "storage/database.hpp"
#include "storage/outbound.hpp"

namespace postern::storage {

struct ClaimLimits {
    std::size_t groups = 1;       // transactions: the runner's free slots
    std::size_t per_group = 100;  // recipients in one transaction
    std::size_t scan = 500;       // due rows looked at
};

// Due deliveries (queued or deferred, next_attempt_at <= now, no live lease) as transactions:
// of the `scan` oldest due, the rows of one message to one domain in groups of at most
// `per_group`, at most `groups` groups, each group in claim order. Only the rows returned are
// leased (until now + lease_ms); the others stay due.
[[nodiscard]] Result<std::vector<std::vector<DeliveryRow>>> claim_due(Database& db,
                                                                      std::int64_t now,
                                                                      std::int64_t lease_ms,
                                                                      const ClaimLimits& limits);

// What one attempt at one recipient came to.
enum class AttemptKind { delivered, deferred, bounced };

// What happens to a row after an attempt: pure, from the row as claimed (attempts before this
// one), the outcome, the [outbound] schedule and the time.
struct RetryDecision {
    std::string state;                            // delivered | deferred | bounced
    std::optional<std::int64_t> next_attempt_at;  // deferred only
    bool expired = false;    // a deferral past max_lifetime_seconds, turned into a bounce
    bool delay_dsn = false;  // deferred, older than delay_dsn_after_seconds, not yet notified
};
RetryDecision decide_retry(const DeliveryRow& row, AttemptKind kind, const OutboundConfig& config,
                           std::int64_t now);

struct OutcomeUpdate {
    std::string delivery_id;
    RetryDecision decision;
    std::string reply;  // the remote reply or our reason, one line
    std::string host;   // "host:port" last tried ("" when none was reached)
};

// Records the outcomes of one attempt (one message, one destination) in the caller's
// transaction: each row's state, attempts+1, next attempt, reply, host, lease released, and a
// message.delivered / message.deferred / message.bounced event. A row no longer queued or deferred
// (an admin cancelled it meanwhile) is left alone. `bounce_dsn` / `delay_dsn` (raw RFC 3464
// reports) are stored in the inbox of the sending mailbox when some row bounced / got a delay
// notice, and their message ids recorded in dsn_message_id.
[[nodiscard]] Result<void> record_outcomes(Database& db, const std::vector<OutcomeUpdate>& updates,
                                           std::int64_t now,
                                           const std::optional<std::string>& bounce_dsn,
                                           const std::optional<std::string>& delay_dsn);

// ---- admin (tenant-scoped) ----
struct QueueFilter {
    bool include_final = false;  // false: queued and deferred only
    std::size_t limit = 100;
};
// Ordered by next attempt (pending) then id.
[[nodiscard]] Result<std::vector<DeliveryRow>> list_queue(Database& db, std::string_view tenant_id,
                                                          const QueueFilter& filter);
[[nodiscard]] Result<std::optional<DeliveryRow>> find_delivery(Database& db,
                                                               std::string_view tenant_id,
                                                               std::string_view delivery_id);
// Makes a queued or deferred delivery due now (a live lease is kept: the attempt in flight
// finishes first). Errc::not_found; Errc::conflict when it is final.
[[nodiscard]] Result<void> retry_now(Database& db, std::string_view tenant_id,
                                     std::string_view delivery_id, std::int64_t now);
// Cancels a queued or deferred delivery (state cancelled; an attempt in flight may still
// deliver it, but its outcome is then not recorded). Errc::not_found; Errc::conflict when final.
[[nodiscard]] Result<void> cancel_delivery(Database& db, std::string_view tenant_id,
                                           std::string_view delivery_id, std::int64_t now);

}  // namespace postern::storage
