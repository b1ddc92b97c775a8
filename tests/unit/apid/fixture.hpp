#pragma once
// A temporary data set for apid unit tests: a migrated database in a temp directory with one
// tenant, two mailboxes (alice, bob) and tokens of several kinds, plus helpers to deliver mail
// through storage::store_inbound and to call Api::handle. No sockets.
#include <unistd.h>

#include <atomic>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "apid/api.hpp"
#include "common/mime.hpp"
#include "common/time.hpp"
#include "storage/database.hpp"
#include "storage/migrations.hpp"
#include "storage/repos.hpp"

namespace postern::api::test {

template <class T>
T must(Result<T> r) {
    if (!r) throw std::runtime_error("fixture: " + r.error().message());
    return std::move(*r);
}
inline void must(Result<void> r) {
    if (!r) throw std::runtime_error("fixture: " + r.error().message());
}

struct Fixture {
    std::filesystem::path dir;
    std::unique_ptr<storage::Database> db;
    storage::Tenant tenant;
    storage::Mailbox alice, bob;
    std::string alice_token;   // bound to alice, scope read
    std::string tenant_token;  // tenant-wide, scope email:read
    std::string send_token;    // bound to alice, scope email:send only
    std::string alice_token_id;
    Api api;
    std::int64_t now = 0;

    Fixture() {
        static std::atomic<int> counter{0};
        mime::init();
        dir = std::filesystem::temp_directory_path() /
              ("apid-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
        std::filesystem::create_directories(dir);
        db = must(storage::Database::open(dir / "postern.db"));
        must(storage::migrate(*db));
        tenant = must(storage::create_tenant(*db, "test"));
        must(storage::create_domain(*db, tenant.id, "example.com"));
        alice = must(storage::create_mailbox(*db, tenant.id, "alice@example.com"));
        bob = must(storage::create_mailbox(*db, tenant.id, "bob@example.com"));
        auto a = must(storage::create_token(*db, tenant.id, alice.id, {"read"}, std::nullopt));
        alice_token = a.secret;
        alice_token_id = a.token.id;
        tenant_token =
            must(storage::create_token(*db, tenant.id, std::nullopt, {"email:read"}, std::nullopt))
                .secret;
        send_token =
            must(storage::create_token(*db, tenant.id, alice.id, {"email:send"}, std::nullopt))
                .secret;
        now = now_ms();
    }
    ~Fixture() {
        db.reset();
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }

    // Stores `raw` for each mailbox in `to`; returns the new message ids.
    std::vector<std::string> deliver(const std::string& raw,
                                     const std::vector<const storage::Mailbox*>& to) {
        storage::InboundMessage m;
        m.raw = raw;
        m.envelope_from = "sender@remote.example";
        for (const auto* mb : to) m.recipients.push_back({mb->id, mb->tenant_id, mb->address});
        m.summary = must(mime::summarize(raw));
        m.received_at = now_ms();
        auto tx = must(storage::Transaction::begin(*db));
        auto ids = must(storage::store_inbound(*db, m));
        must(tx.commit());
        return ids;
    }

    Response get(const std::string& target, const std::optional<std::string>& token,
                 const std::string& method = "GET") {
        Request r;
        r.method = method;
        r.target = target;
        if (token) r.authorization = "Bearer " + *token;
        return api.handle(r, *db, now);
    }

    static boost::json::value body(const Response& r) { return boost::json::parse(r.body); }
};

// A minimal message: plain text, one recipient.
inline std::string simple_message(const std::string& subject, const std::string& to,
                                  const std::string& message_id = "",
                                  const std::string& in_reply_to = "") {
    std::string m = "From: Sender <sender@remote.example>\r\nTo: " + to +
                    "\r\nSubject: " + subject + "\r\nDate: Sun, 22 Nov 2026 08:03:46 +0000\r\n";
    if (!message_id.empty()) m += "Message-ID: <" + message_id + ">\r\n";
    if (!in_reply_to.empty())
        m += "In-Reply-To: <" + in_reply_to + ">\r\nReferences: <" + in_reply_to + ">\r\n";
    m += "\r\nHello " + subject + "\r\n";
    return m;
}

}  // namespace postern::api::test
