#include "storage/migrations.hpp"

#include <string>
#include <vector>

#include "common/embedded.hpp"

namespace postern::storage::migrations_data {
extern const std::vector<postern::EmbeddedFile> kFiles;
}

namespace postern::storage {

int latest_schema_version() { return static_cast<int>(migrations_data::kFiles.size()); }

Result<void> migrate(Database& db) {
    auto tx = Transaction::begin(db);
    if (!tx) return tl::unexpected(tx.error());
    auto stmt = db.prepare("PRAGMA user_version");
    if (!stmt) return tl::unexpected(stmt.error());
    auto row = stmt->step();
    if (!row) return tl::unexpected(row.error());
    int version = static_cast<int>(stmt->int64(0));
    { auto done = std::move(*stmt); }
    int latest = latest_schema_version();
    if (version > latest)
        return fail(Errc::conflict, "database schema version " + std::to_string(version) +
                                        " is newer than this binary (" + std::to_string(latest) +
                                        ")");
    for (int v = version; v < latest; ++v) {
        const auto& file = migrations_data::kFiles[static_cast<std::size_t>(v)];
        if (auto r = db.exec(file.contents); !r)
            return fail(Errc::io, std::string(file.name) + ": " + r.error().message());
        if (auto r = db.exec("PRAGMA user_version=" + std::to_string(v + 1)); !r)
            return tl::unexpected(r.error());
    }
    return tx->commit();
}

}  // namespace postern::storage
