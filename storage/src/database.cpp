#include "storage/database.hpp"

#include <sqlite3.h>

#include "wal_vfs.hpp"

namespace postern::storage {
namespace {

Errc code_of(int rc) {
    const int primary = rc & 0xff;
    return primary == SQLITE_CONSTRAINT ? Errc::conflict
           : primary == SQLITE_FULL     ? Errc::no_space
                                        : Errc::io;
}

Error sqlite_error(sqlite3* db, int rc, std::string_view what) {
    const Errc code = code_of(rc);
    std::string msg(what);
    msg += ": ";
    msg += db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    return Error(code, std::move(msg));
}

}  // namespace

Statement::Statement(Statement&& other) noexcept : db_(other.db_), stmt_(other.stmt_) {
    other.stmt_ = nullptr;
}

Statement::~Statement() {
    if (stmt_) {
        sqlite3_reset(stmt_);
        sqlite3_clear_bindings(stmt_);
    }
}

Statement& Statement::bind(int index, std::string_view text) {
    sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
    return *this;
}

Statement& Statement::bind_blob(int index, std::string_view bytes) {
    sqlite3_bind_blob(stmt_, index, bytes.data(), static_cast<int>(bytes.size()), SQLITE_STATIC);
    return *this;
}

Statement& Statement::bind(int index, std::int64_t value) {
    sqlite3_bind_int64(stmt_, index, value);
    return *this;
}

Statement& Statement::bind(int index, std::nullopt_t) {
    sqlite3_bind_null(stmt_, index);
    return *this;
}

Statement& Statement::bind(int index, const std::optional<std::string>& text) {
    return text ? bind(index, std::string_view(*text)) : bind(index, std::nullopt);
}

Statement& Statement::bind(int index, const std::optional<std::int64_t>& value) {
    return value ? bind(index, *value) : bind(index, std::nullopt);
}

Result<bool> Statement::step() {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return tl::unexpected(sqlite_error(db_->db_, rc, "step"));
}

Result<void> Statement::run() {
    auto r = step();
    if (!r) return tl::unexpected(r.error());
    return {};
}

bool Statement::is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

std::int64_t Statement::int64(int col) const { return sqlite3_column_int64(stmt_, col); }

std::string Statement::text(int col) const {
    auto p = sqlite3_column_text(stmt_, col);
    int n = sqlite3_column_bytes(stmt_, col);
    return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n))
             : std::string();
}

std::optional<std::string> Statement::opt_text(int col) const {
    if (is_null(col)) return std::nullopt;
    return text(col);
}

std::optional<std::int64_t> Statement::opt_int64(int col) const {
    if (is_null(col)) return std::nullopt;
    return int64(col);
}

std::string_view Statement::blob(int col) const {
    auto p = sqlite3_column_blob(stmt_, col);
    int n = sqlite3_column_bytes(stmt_, col);
    return p ? std::string_view(static_cast<const char*>(p), static_cast<std::size_t>(n))
             : std::string_view();
}

Result<std::unique_ptr<Database>> Database::open(const std::filesystem::path& path,
                                                 const OpenOptions& options) {
    // The shim holds WAL writes back until SQLite syncs the file, which it does at every commit
    // only with synchronous=FULL; with less, readers would be told of frames not yet written.
    if (options.gather_wal_writes && !options.read_only && !options.synchronous_full)
        return fail(Errc::invalid_argument, "gathering WAL writes needs synchronous=FULL");
    sqlite3* raw = nullptr;
    int flags =
        options.read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    flags |= SQLITE_OPEN_NOMUTEX;  // one thread per connection, by contract
    const char* vfs =
        options.gather_wal_writes && !options.read_only ? wal_gathering_vfs() : nullptr;
    int rc = sqlite3_open_v2(path.c_str(), &raw, flags, vfs);
    std::unique_ptr<Database> db(new Database(raw));
    if (rc != SQLITE_OK) return tl::unexpected(sqlite_error(raw, rc, "open " + path.string()));
    sqlite3_busy_timeout(raw, options.busy_timeout_ms);
    sqlite3_extended_result_codes(raw, 1);
    std::string pragmas = "PRAGMA foreign_keys=ON;";
    if (!options.read_only) {
        pragmas += "PRAGMA journal_mode=WAL;";
        pragmas +=
            options.synchronous_full ? "PRAGMA synchronous=FULL;" : "PRAGMA synchronous=NORMAL;";
    }
    if (auto r = db->exec(pragmas); !r) return tl::unexpected(r.error());
    return db;
}

Database::~Database() {
    for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
    sqlite3_close_v2(db_);
}

Result<void> Database::exec(std::string_view sql) {
    std::string copy(sql);
    char* err = nullptr;
    int rc = sqlite3_exec(db_, copy.c_str(), nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
        std::string msg = err ? err : sqlite3_errstr(rc);
        sqlite3_free(err);
        return fail(code_of(rc), "exec: " + msg);
    }
    return {};
}

Result<Statement> Database::prepare(std::string_view sql) {
    std::string key(sql);
    auto it = cache_.find(key);
    if (it == cache_.end()) {
        sqlite3_stmt* stmt = nullptr;
        int rc = sqlite3_prepare_v3(db_, key.data(), static_cast<int>(key.size()),
                                    SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
        if (rc != SQLITE_OK) return tl::unexpected(sqlite_error(db_, rc, "prepare"));
        it = cache_.emplace(std::move(key), stmt).first;
    }
    return Statement(this, it->second);
}

Result<void> Database::run(std::string_view sql) {
    auto st = prepare(sql);
    if (!st) return tl::unexpected(st.error());
    return st->run();
}

std::int64_t Database::changes() const { return sqlite3_changes64(db_); }

std::string Database::last_error() const { return sqlite3_errmsg(db_); }

Result<Transaction> Transaction::begin(Database& db, Kind kind) {
    auto r = db.run(kind == Kind::immediate ? "BEGIN IMMEDIATE" : "BEGIN");
    if (!r) return tl::unexpected(r.error());
    return Transaction(&db);
}

Transaction::~Transaction() {
    if (db_) (void)db_->run("ROLLBACK");
}

Result<void> Transaction::commit() {
    auto r = db_->run("COMMIT");
    if (r) db_ = nullptr;
    return r;
}

}  // namespace postern::storage
