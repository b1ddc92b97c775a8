#include "directory.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>

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

RecipientDirectory::RecipientDirectory(std::filesystem::path db_path, Options options)
    : db_path_(std::move(db_path)), options_(std::move(options)), generation_(++g_generation) {}

RecipientDirectory::RecipientDirectory(std::filesystem::path db_path)
    : RecipientDirectory(std::move(db_path), Options{}) {}

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
    if (options_.accept_ttl.count() <= 0) return lookup_in_database(key, domain, postmaster);
    // The key holds the domain (bare <Postmaster>'s has none, and is a key of its own).
    std::string cache_key(key);
    cache_key += postmaster ? '\1' : '\0';
    const auto now = Clock::now();
    {
        std::lock_guard lock(accepts_mu_);
        auto it = accepts_.find(cache_key);
        if (it != accepts_.end()) {
            if (it->second.expires > now) return it->second.verdict;
            accepts_.erase(it);
        }
    }
    RecipientVerdict verdict = lookup_in_database(key, domain, postmaster);
    if (verdict.kind != RecipientVerdict::Kind::accept) return verdict;
    std::lock_guard lock(accepts_mu_);
    while (!expiries_.empty() &&
           (expiries_.front().first <= now || accepts_.size() >= options_.accept_cache_entries)) {
        auto& [expires, oldest] = expiries_.front();
        auto it = accepts_.find(oldest);
        if (it != accepts_.end() && it->second.expires == expires) accepts_.erase(it);
        expiries_.pop_front();  // else the key was found expired and inserted again since
    }
    const auto expires = now + options_.accept_ttl;
    expiries_.emplace_back(expires, cache_key);
    accepts_.insert_or_assign(std::move(cache_key), Remembered{verdict, expires});
    return verdict;
}

RecipientVerdict RecipientDirectory::lookup_in_database(std::string_view key,
                                                        std::string_view domain,
                                                        bool postmaster) const {
    RecipientVerdict verdict;  // temp_failure unless a lookup answers
    ThreadConnection& conn = t_connection;
    if (!connection()) return verdict;
    storage::Database& db = *conn.db;
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
    std::optional<storage::Domain> hosted;  // the recipient's domain, once found to be ours
    if (!domain.empty()) {                  // empty: <Postmaster>, which has no mailbox of its own
        auto mailbox = storage::find_mailbox_by_key(db, key);
        if (!mailbox) return failed(mailbox.error());
        if (*mailbox) return accept(**mailbox);
        // Subaddressing (RFC 5233): agent+tag@ is agent@'s unless agent+tag@ exists itself.
        std::string_view local = key.substr(0, key.rfind('@'));
        auto cut = local.find_first_of(options_.recipient_delimiter);
        if (cut != std::string_view::npos && cut > 0) {
            std::string base(local.substr(0, cut));
            base += key.substr(local.size());
            auto owner = storage::find_mailbox_by_key(db, base);
            if (!owner) return failed(owner.error());
            if (*owner) return accept(**owner);
        }
        auto found = storage::find_domain(db, domain);
        if (!found) return failed(found.error());
        if (!*found) {
            verdict.kind = RecipientVerdict::Kind::not_hosted;
            return verdict;
        }
        hosted = std::move(*found);
    }
    if (postmaster && !options_.postmaster.empty()) {
        auto mailbox = storage::find_mailbox_by_key(db, options_.postmaster);
        if (!mailbox) return failed(mailbox.error());
        if (*mailbox) return accept(**mailbox);
        spdlog::warn("smtpd: [smtp] postmaster {} is no mailbox", options_.postmaster);
    } else if (postmaster) {
        // RFC 5321 §4.5.1: postmaster MUST be accepted. With no postmaster configured, the
        // domain's first mailbox takes it (the same tenant's); <Postmaster> with no domain is
        // the hostname's domain's, or its nearest parent's that we host.
        if (!hosted) {
            for (std::string_view name = options_.hostname; !name.empty();) {
                auto found = storage::find_domain(db, name);
                if (!found) return failed(found.error());
                if (*found) {
                    hosted = std::move(*found);
                    break;
                }
                auto dot = name.find('.');
                name = dot == std::string_view::npos ? std::string_view() : name.substr(dot + 1);
            }
        }
        if (hosted) {
            auto first = storage::first_mailbox_of_domain(db, hosted->id);
            if (!first) return failed(first.error());
            if (*first) return accept(**first);
        }
    }
    verdict.kind = RecipientVerdict::Kind::no_such_user;
    return verdict;
}

}  // namespace postern::smtp
