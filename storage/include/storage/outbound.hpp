#pragma once
// Outbound mail in storage: the Sent copy of a message and its per-recipient deliveries (the
// queue), plus the Idempotency-Key store the sending routes use. Schema: migrations/0005.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/mime.hpp"
#include "common/result.hpp"
#include "storage/database.hpp"
#include "storage/repos.hpp"

namespace postern::storage {

struct DeliveryRow {
    std::string id;  // dlv_…
    std::string tenant_id;
    std::string mailbox_id;
    std::string message_id;  // the Sent copy
    std::string blob_sha256;
    std::string envelope_from;
    std::string recipient;
    std::string domain;
    std::string state;  // queued | deferred | delivered | bounced | cancelled
    std::int64_t attempts = 0;
    std::int64_t created_at = 0;
    std::int64_t updated_at = 0;
    std::optional<std::int64_t> next_attempt_at;
    std::optional<std::int64_t> lease_until;
    std::optional<std::int64_t> last_attempt_at;
    std::optional<std::string> last_reply;
    std::optional<std::string> last_host;
    bool delay_notified = false;
    std::optional<std::string> dsn_message_id;
};

struct OutboundMessage {
    std::string tenant_id;
    std::string mailbox_id;
    std::string raw;            // the complete message, CRLF line ends, unsigned
    std::string envelope_from;  // the mailbox address
    // RCPT TO addresses (To, Cc and Bcc for REST sends; the envelope for submission). Duplicates
    // (compared case-insensitively in the domain, exactly in the local part) are queued once.
    std::vector<std::string> recipients;
    mime::Summary summary;
    std::int64_t created_at = 0;
    std::string source;  // "api" | "submission": recorded in the message.sent event
};

struct Enqueued {
    std::string message_id;  // msg_… of the Sent copy
    std::string thread_id;
    std::vector<DeliveryRow> deliveries;  // in recipient order
};

// Stores the raw bytes, the Sent copy (folder "sent", threaded like inbound mail, no
// message.received event) and one queued delivery per distinct recipient, due now, plus a
// `message.sent` event. Call inside a transaction (a writer job). Errc::invalid_argument when
// there are no recipients or a recipient has no domain.
[[nodiscard]] Result<Enqueued> enqueue_outbound(Database& db, const OutboundMessage& m);

// Deliveries of one message, visible through `scope` (tenant, and mailbox if bound).
[[nodiscard]] Result<std::vector<DeliveryRow>> list_deliveries(Database& db, const Scope& scope,
                                                               std::string_view message_id);
[[nodiscard]] Result<std::optional<DeliveryRow>> get_delivery(Database& db,
                                                              std::string_view delivery_id);

// ---- Idempotency-Key ----
struct IdempotentResponse {
    std::string request_sha256;
    int status = 0;
    std::string response;
    std::int64_t created_at = 0;
};
inline constexpr std::int64_t kIdempotencyWindowMs = 24LL * 3600 * 1000;

// The stored response for (tenant, principal, key) if it is younger than the window.
[[nodiscard]] Result<std::optional<IdempotentResponse>> find_idempotent(Database& db,
                                                                        std::string_view tenant_id,
                                                                        std::string_view principal,
                                                                        std::string_view key,
                                                                        std::int64_t now);
// Records the first response (replacing an expired one). Call in the transaction that made the
// change, so a replay never sees a key without its effect.
[[nodiscard]] Result<void> save_idempotent(Database& db, std::string_view tenant_id,
                                           std::string_view principal, std::string_view key,
                                           std::string_view route, const IdempotentResponse& r);

}  // namespace postern::storage
