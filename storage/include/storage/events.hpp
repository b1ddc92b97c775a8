#pragma once
// The events outbox (DESIGN.md: the `events` table): every change worth telling a consumer
// about appends a row in the same transaction as the change; consumers read after a sequence
// number and keep their place in `outbox_cursors`.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "storage/database.hpp"

namespace postern::storage {

struct OutboxEvent {
    std::int64_t seq = 0;
    std::string id;  // evt_…
    std::string tenant_id;
    std::optional<std::string> mailbox_id;
    std::string type;
    std::string data_json;
    std::int64_t created_at = 0;
};
// Appends an `events` row (call in the transaction of the change it reports).
[[nodiscard]] Result<void> append_event(Database& db, std::string_view tenant_id,
                                        const std::optional<std::string>& mailbox_id,
                                        std::string_view type, std::string_view data_json,
                                        std::int64_t now);
[[nodiscard]] Result<std::vector<OutboxEvent>> events_after(Database& db, std::int64_t seq,
                                                            std::size_t limit);
[[nodiscard]] Result<std::int64_t> outbox_cursor(Database& db, std::string_view name);
// Moves the cursor from `from` to `to`; Errc::conflict when it is no longer at `from` (another
// consumer moved it), so the caller's transaction must roll back.
[[nodiscard]] Result<void> advance_outbox_cursor(Database& db, std::string_view name,
                                                 std::int64_t from, std::int64_t to,
                                                 std::int64_t now);

}  // namespace postern::storage
