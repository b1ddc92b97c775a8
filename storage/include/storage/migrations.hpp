#pragma once
// Numbered schema migrations (storage/migrations/NNNN_*.sql, compiled in) applied in order inside
// one transaction each; the version lives in PRAGMA user_version.
#include "common/result.hpp"
#include "storage/database.hpp"

namespace postern::storage {

int latest_schema_version();
// Brings the schema up to the latest version. Refuses a database newer than this binary.
[[nodiscard]] Result<void> migrate(Database& db);

}  // namespace postern::storage
