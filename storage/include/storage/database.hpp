#pragma once
// One SQLite connection (WAL, foreign keys, busy timeout) with a cache of prepared statements.
// A Database is used by one thread at a time; it is not shareable across threads.
// Errors from SQLite become Result values: Errc::conflict for constraint violations, Errc::no_space
// for SQLITE_FULL (a full disk, or max_page_count), Errc::io otherwise.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/result.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace postern::storage {

class Database;

// A cached prepared statement, reset and cleared when this handle is destroyed.
// Binding indexes are 1-based, columns 0-based (as in SQLite).
class Statement {
 public:
    Statement(Statement&& other) noexcept;
    Statement& operator=(Statement&&) = delete;
    ~Statement();

    Statement& bind(int index, std::string_view text);
    Statement& bind(int index, const std::string& text) {
        return bind(index, std::string_view(text));
    }
    Statement& bind(int index, const char* text) { return bind(index, std::string_view(text)); }
    Statement& bind_blob(int index, std::string_view bytes);
    Statement& bind(int index, std::int64_t value);
    Statement& bind(int index, int value) { return bind(index, static_cast<std::int64_t>(value)); }
    Statement& bind(int index, std::nullopt_t);
    Statement& bind(int index, const std::optional<std::string>& text);
    Statement& bind(int index, const std::optional<std::int64_t>& value);

    // Advances to the next row: true when a row is available, false when done.
    [[nodiscard]] Result<bool> step();
    // Runs a statement that returns no rows.
    [[nodiscard]] Result<void> run();

    bool is_null(int col) const;
    std::int64_t int64(int col) const;
    std::string text(int col) const;
    std::optional<std::string> opt_text(int col) const;
    std::optional<std::int64_t> opt_int64(int col) const;
    std::string_view blob(int col) const;  // valid until the next step()

 private:
    friend class Database;
    Statement(Database* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
    Database* db_;
    sqlite3_stmt* stmt_;
};

struct OpenOptions {
    bool read_only = false;
    bool synchronous_full = true;  // every commit reaches the disk before it returns
    int busy_timeout_ms = 10000;
    // Gather each transaction's WAL writes into one write call before the sync (the group-commit
    // writer's connection; see storage/src/wal_vfs.cpp). Durability is unchanged. Needs
    // synchronous_full (open fails otherwise).
    bool gather_wal_writes = false;
};

class Database {
 public:
    // Opens (creating when writable) the database file and applies the connection pragmas.
    [[nodiscard]] static Result<std::unique_ptr<Database>> open(const std::filesystem::path& path,
                                                                const OpenOptions& options = {});
    ~Database();
    Database(const Database&) = delete;
    Database& operator=(const Database&) = delete;

    // Runs one or more statements with no parameters and no rows.
    [[nodiscard]] Result<void> exec(std::string_view sql);
    // A prepared statement from the cache; `sql` must be a literal-like stable string.
    [[nodiscard]] Result<Statement> prepare(std::string_view sql);
    // Runs one statement with no parameters and no rows, prepared once and cached: for the
    // transaction statements run several times per group commit (exec parses every time).
    [[nodiscard]] Result<void> run(std::string_view sql);

    std::int64_t changes() const;
    std::string last_error() const;
    sqlite3* handle() { return db_; }

 private:
    explicit Database(sqlite3* db) : db_(db) {}
    friend class Statement;
    sqlite3* db_;
    std::unordered_map<std::string, sqlite3_stmt*> cache_;
};

// Rolls back in its destructor unless commit() succeeded (SQLiteCpp Transaction.h).
class Transaction {
 public:
    enum class Kind { deferred, immediate };
    [[nodiscard]] static Result<Transaction> begin(Database& db, Kind kind = Kind::immediate);
    Transaction(Transaction&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }
    Transaction& operator=(Transaction&&) = delete;
    ~Transaction();
    [[nodiscard]] Result<void> commit();

 private:
    explicit Transaction(Database* db) : db_(db) {}
    Database* db_;
};

}  // namespace postern::storage
