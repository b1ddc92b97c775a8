#pragma once
// Internal to the storage library: the pieces store_inbound and enqueue_outbound share.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/mime.hpp"
#include "common/result.hpp"
#include "storage/database.hpp"
#include "storage/outbound.hpp"

namespace postern::storage {

struct CopySpec {
    std::string_view tenant_id;
    std::string_view mailbox_id;
    std::string_view folder;  // "inbox" | "sent"
    std::string_view blob_sha256;
    std::int64_t size = 0;
    const mime::Summary& summary;
    std::string_view envelope_from;
    std::string_view envelope_to;  // space separated for a Sent copy
    const std::vector<std::string>& flags;
    const std::string& auth_json;  // "" stores NULL
    std::int64_t received_at = 0;
};
struct StoredCopy {
    std::string message_id;
    std::string thread_id;
};

// INSERT OR IGNORE of content-addressed bytes.
[[nodiscard]] Result<void> store_blob(Database& db, std::string_view sha, std::string_view raw);
// One message row in a mailbox, joined to a thread (References/In-Reply-To first, else the
// normalised subject with the same participants).
[[nodiscard]] Result<StoredCopy> store_copy(Database& db, const CopySpec& c);

// The columns of `deliveries` in DeliveryRow order, and the reader of one row selected with them
// (outbound_repo.cpp; queue_repo.cpp uses them too).
extern const char* const kDeliveryColumns;
[[nodiscard]] DeliveryRow read_delivery(const Statement& st);

}  // namespace postern::storage
