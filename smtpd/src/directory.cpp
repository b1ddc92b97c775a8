#include "directory.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <memory>

#include "storage/database.hpp"
#include "storage/repos.hpp"

namespace postern::smtp {
namespace {

std::atomic<std::uint64_t> g_generation{0};

struct ThreadConnection {
    std::uint64_t generation = 0;
    std::unique_ptr<storage::Database> db;
};
thread_local ThreadConnection t_connection;

}  // namespace

RecipientDirectory::RecipientDirectory(std::filesystem::path db_path)
    : db_path_(std::move(db_path)), generation_(++g_generation) {}

RecipientVerdict RecipientDirectory::lookup(std::string_view key, std::string_view domain) const {
    RecipientVerdict verdict;  // temp_failure unless a lookup answers
    ThreadConnection& conn = t_connection;
    if (!conn.db || conn.generation != generation_) {
        storage::OpenOptions options;
        options.read_only = true;
        options.busy_timeout_ms = 2000;
        auto db = storage::Database::open(db_path_, options);
        if (!db) {
            spdlog::error("smtpd: cannot open {} for reading: {}", db_path_.string(),
                          db.error().message());
            return verdict;
        }
        conn.db = std::move(*db);
        conn.generation = generation_;
    }
    auto mailbox = storage::find_mailbox_by_key(*conn.db, key);
    if (mailbox && *mailbox) {
        verdict.kind = RecipientVerdict::Kind::accept;
        verdict.mailbox_id = std::move((*mailbox)->id);
        verdict.tenant_id = std::move((*mailbox)->tenant_id);
        return verdict;
    }
    if (mailbox) {
        auto hosted = storage::find_domain(*conn.db, domain);
        if (hosted) {
            verdict.kind =
                *hosted ? RecipientVerdict::Kind::no_such_user : RecipientVerdict::Kind::not_hosted;
            return verdict;
        }
        mailbox = tl::unexpected(hosted.error());
    }
    spdlog::warn("smtpd: recipient lookup failed: {}", mailbox.error().message());
    conn.db.reset();  // reopen next time
    return verdict;
}

}  // namespace postern::smtp
