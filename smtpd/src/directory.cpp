#include "directory.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <memory>

#include "common/address.hpp"
#include "smtpd/submit_policy.hpp"
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

RecipientDirectory::RecipientDirectory(std::filesystem::path db_path, std::string postmaster)
    : db_path_(std::move(db_path)),
      postmaster_(std::move(postmaster)),
      generation_(++g_generation) {}

storage::Database* RecipientDirectory::connection() const {
    ThreadConnection& conn = t_connection;
    if (!conn.db || conn.generation != generation_) {
        storage::OpenOptions options;
        options.read_only = true;
        options.busy_timeout_ms = 2000;
        auto db = storage::Database::open(db_path_, options);
        if (!db) {
            spdlog::error("smtpd: cannot open {} for reading: {}", db_path_.string(),
                          db.error().message());
            return nullptr;
        }
        conn.db = std::move(*db);
        conn.generation = generation_;
    }
    return conn.db.get();
}

AuthVerdict RecipientDirectory::authenticate(std::string_view username, std::string_view password,
                                             bool require_verified_domain,
                                             std::int64_t now_ms) const {
    AuthVerdict verdict;  // temp_failure unless the lookups answer
    auto address = parse_address(username);
    if (!address || address->domain.empty() || password.size() > 512) {
        verdict.kind = AuthVerdict::Kind::invalid;
        return verdict;
    }
    storage::Database* db = connection();
    if (!db) return verdict;
    auto token = storage::find_token_by_secret(*db, password);
    if (!token) {
        spdlog::warn("smtpd: AUTH token lookup failed: {}", token.error().message());
        t_connection.db.reset();  // reopen next time
        return verdict;
    }
    auto mailbox = storage::find_mailbox_by_key(*db, address->key());
    if (!mailbox) {
        spdlog::warn("smtpd: AUTH mailbox lookup failed: {}", mailbox.error().message());
        t_connection.db.reset();
        return verdict;
    }
    if (!*token || !*mailbox || !token_may_submit(**token, **mailbox, now_ms)) {
        verdict.kind = AuthVerdict::Kind::invalid;
        return verdict;
    }
    if (require_verified_domain) {
        auto domain = storage::find_domain(*db, address->domain);
        if (!domain) {
            t_connection.db.reset();
            return verdict;
        }
        if (!*domain) {
            verdict.kind = AuthVerdict::Kind::invalid;
            return verdict;
        }
        verdict.send_refused = send_refusal(**domain);
    }
    const storage::Mailbox& m = **mailbox;
    verdict.kind = AuthVerdict::Kind::ok;
    verdict.identity = AuthIdentity{m.id, m.tenant_id, m.address, m.address_key};
    return verdict;
}

RecipientVerdict RecipientDirectory::lookup(std::string_view key, std::string_view domain,
                                            bool postmaster) const {
    RecipientVerdict verdict;  // temp_failure unless a lookup answers
    ThreadConnection& conn = t_connection;
    if (!connection()) return verdict;
    auto failed = [&](const Error& e) {
        spdlog::warn("smtpd: recipient lookup failed: {}", e.message());
        conn.db.reset();  // reopen next time
        return verdict;
    };
    auto accept = [&](storage::Mailbox& m) {
        verdict.kind = RecipientVerdict::Kind::accept;
        verdict.mailbox_id = std::move(m.id);
        verdict.tenant_id = std::move(m.tenant_id);
        return verdict;
    };
    if (!domain.empty()) {  // empty: <Postmaster>, which has no mailbox of its own
        auto mailbox = storage::find_mailbox_by_key(*conn.db, key);
        if (!mailbox) return failed(mailbox.error());
        if (*mailbox) return accept(**mailbox);
        auto hosted = storage::find_domain(*conn.db, domain);
        if (!hosted) return failed(hosted.error());
        if (!*hosted) {
            verdict.kind = RecipientVerdict::Kind::not_hosted;
            return verdict;
        }
    }
    if (postmaster && !postmaster_.empty()) {
        auto mailbox = storage::find_mailbox_by_key(*conn.db, postmaster_);
        if (!mailbox) return failed(mailbox.error());
        if (*mailbox) return accept(**mailbox);
        spdlog::warn("smtpd: [smtp] postmaster {} is no mailbox", postmaster_);
    }
    verdict.kind = RecipientVerdict::Kind::no_such_user;
    return verdict;
}

}  // namespace postern::smtp
