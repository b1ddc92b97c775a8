// RecipientDirectory against a real database: what RCPT remembers, for how long, and how much.
#include "directory.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "common/ids.hpp"
#include "storage/database.hpp"
#include "storage/migrations.hpp"
#include "storage/repos.hpp"

using namespace postern;
using Kind = smtp::RecipientVerdict::Kind;

namespace {

struct Hosted {
    std::filesystem::path dir =
        std::filesystem::temp_directory_path() / ("postern-dir-" + new_id("t"));
    std::unique_ptr<storage::Database> db;
    std::string tenant_id;

    Hosted() {
        std::filesystem::create_directories(dir);
        db = std::move(*storage::Database::open(dir / "p.db"));
        REQUIRE(storage::migrate(*db));
        tenant_id = storage::create_tenant(*db, "t")->id;
        REQUIRE(storage::create_domain(*db, tenant_id, "a.test"));
    }
    ~Hosted() {
        db.reset();
        std::filesystem::remove_all(dir);
    }
    std::string add(const std::string& address) {
        auto m = storage::create_mailbox(*db, tenant_id, address);
        REQUIRE(m);
        return m->id;
    }
    // Mailboxes are never removed by Postern; the tests remove one behind the directory's back
    // to see whether it asks the database.
    void remove(const std::string& id) {
        auto st = db->prepare("DELETE FROM mailboxes WHERE id = ?");
        REQUIRE(st);
        st->bind(1, id);
        REQUIRE(st->run());
    }
    smtp::RecipientDirectory directory(std::chrono::milliseconds ttl, std::size_t entries = 100) {
        smtp::RecipientDirectory::Options options;
        options.accept_ttl = ttl;
        options.accept_cache_entries = entries;
        return smtp::RecipientDirectory(dir / "p.db", options);
    }
};

}  // namespace

TEST_CASE("RCPT remembers an accepted recipient for the TTL", "[directory]") {
    Hosted h;
    const std::string id = h.add("x@a.test");
    auto remembering = h.directory(std::chrono::hours(1));
    auto asking = h.directory(std::chrono::milliseconds(0));
    auto first = remembering.lookup("x@a.test", "a.test");
    REQUIRE(first.kind == Kind::accept);
    CHECK(first.mailbox_id == id);
    CHECK(first.tenant_id == h.tenant_id);
    REQUIRE(asking.lookup("x@a.test", "a.test").kind == Kind::accept);

    h.remove(id);
    auto again = remembering.lookup("x@a.test", "a.test");
    CHECK(again.kind == Kind::accept);
    CHECK(again.mailbox_id == id);
    CHECK(asking.lookup("x@a.test", "a.test").kind == Kind::no_such_user);
}

TEST_CASE("RCPT does not remember refusals", "[directory]") {
    Hosted h;
    auto directory = h.directory(std::chrono::hours(1));
    CHECK(directory.lookup("y@a.test", "a.test").kind == Kind::no_such_user);
    CHECK(directory.lookup("y@b.test", "b.test").kind == Kind::not_hosted);
    const std::string id = h.add("y@a.test");  // found at once
    auto found = directory.lookup("y@a.test", "a.test");
    CHECK(found.kind == Kind::accept);
    CHECK(found.mailbox_id == id);
}

TEST_CASE("RCPT asks the database again once the TTL is over", "[directory]") {
    Hosted h;
    const std::string id = h.add("x@a.test");
    auto directory = h.directory(std::chrono::milliseconds(1));
    REQUIRE(directory.lookup("x@a.test", "a.test").kind == Kind::accept);
    h.remove(id);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    CHECK(directory.lookup("x@a.test", "a.test").kind == Kind::no_such_user);
}

TEST_CASE("RCPT remembers at most accept_cache_entries recipients", "[directory]") {
    Hosted h;
    const std::string a = h.add("a@a.test"), b = h.add("b@a.test"), c = h.add("c@a.test");
    auto directory = h.directory(std::chrono::hours(1), 2);
    for (const char* key : {"a@a.test", "b@a.test", "c@a.test"})
        REQUIRE(directory.lookup(key, "a.test").kind == Kind::accept);
    // The third found the cache full of unexpired entries: the oldest made room for it.
    for (const auto& id : {a, b, c}) h.remove(id);
    CHECK(directory.lookup("c@a.test", "a.test").kind == Kind::accept);
    CHECK(directory.lookup("b@a.test", "a.test").kind == Kind::accept);
    CHECK(directory.lookup("a@a.test", "a.test").kind == Kind::no_such_user);
}

TEST_CASE("a key looked up as postmaster and as not is remembered apart", "[directory]") {
    // The answer depends on the flag as well as the key. The session asks for one key both
    // ways: "postmaster"@a.test has the key postmaster@a.test, but it does not take the quoted
    // local part for postmaster's. The two must not share a remembered answer.
    Hosted h;
    const std::string first = h.add("first@a.test");
    auto directory = h.directory(std::chrono::hours(1));
    auto postmaster = directory.lookup("postmaster@a.test", "a.test", true);
    REQUIRE(postmaster.kind == Kind::accept);
    CHECK(postmaster.mailbox_id == first);  // the domain's first mailbox takes it
    CHECK(directory.lookup("postmaster@a.test", "a.test", false).kind == Kind::no_such_user);
}

TEST_CASE("a remembered accept is kept for the TTL from its lookup, not from its last use",
          "[directory]") {
    Hosted h;
    const std::string id = h.add("x@a.test");
    auto directory = h.directory(std::chrono::milliseconds(40));
    REQUIRE(directory.lookup("x@a.test", "a.test").kind == Kind::accept);
    h.remove(id);
    for (int i = 0; i < 6; ++i) {  // used every 10 ms: a hit does not extend it
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        (void)directory.lookup("x@a.test", "a.test");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    CHECK(directory.lookup("x@a.test", "a.test").kind == Kind::no_such_user);
}
