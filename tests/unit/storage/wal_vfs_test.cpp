// The WAL write-gathering VFS shim (storage/src/wal_vfs.cpp) under a real database: what one
// connection commits through it, another connection and a reopened database see.
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "common/ids.hpp"
#include "storage/database.hpp"

using namespace postern;
using namespace postern::storage;

TEST_CASE("gathered WAL writes reach the file before commit returns", "[storage][vfs]") {
    auto dir = std::filesystem::temp_directory_path() / ("postern-vfs-" + new_id("t"));
    std::filesystem::create_directories(dir);
    {
        OpenOptions gather;
        gather.gather_wal_writes = true;
        auto writer = Database::open(dir / "p.db", gather);
        REQUIRE(writer);
        auto made = (*writer)->exec("CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)");
        INFO((made ? std::string() : made.error().message()));
        REQUIRE(made);
        auto reader = Database::open(dir / "p.db");
        REQUIRE(reader);
        const std::string big(100000, 'x');  // spans many pages and overflow chains
        for (int round = 0; round < 50; ++round) {
            auto tx = Transaction::begin(**writer);
            REQUIRE(tx);
            for (int i = 0; i < 20; ++i) {
                auto st = (*writer)->prepare("INSERT INTO t(v) VALUES (?)");
                REQUIRE(st);
                auto ran = st->bind_blob(1, i % 5 == 0 ? big : std::string(300, 'y')).run();
                INFO((ran ? std::string() : ran.error().message()));
                REQUIRE(ran);
            }
            REQUIRE(tx->commit());
            // Another connection sees every committed row at once.
            auto st = (*reader)->prepare("SELECT count(*), sum(length(v)) FROM t");
            REQUIRE(st);
            REQUIRE(*st->step());
            CHECK(st->int64(0) == (round + 1) * 20);
            CHECK(st->int64(1) == (round + 1) * (4 * 100000 + 16 * 300));
        }
        // A checkpoint from the reader's side copies the WAL back; the writer keeps going.
        REQUIRE((*reader)->exec("PRAGMA wal_checkpoint(TRUNCATE)"));
        REQUIRE((*writer)->exec("INSERT INTO t(v) VALUES (x'00')"));
    }
    auto reopened = Database::open(dir / "p.db");
    REQUIRE(reopened);
    auto st = (*reopened)->prepare("SELECT count(*) FROM t");
    REQUIRE(st);
    REQUIRE(*st->step());
    CHECK(st->int64(0) == 50 * 20 + 1);
    auto check = (*reopened)->prepare("PRAGMA integrity_check");
    REQUIRE(check);
    REQUIRE(*check->step());
    CHECK(check->text(0) == "ok");
    std::filesystem::remove_all(dir);
}

TEST_CASE("gathering WAL writes is refused without synchronous=FULL", "[storage][vfs]") {
    auto dir = std::filesystem::temp_directory_path() / ("postern-vfs-" + new_id("t"));
    std::filesystem::create_directories(dir);
    OpenOptions options;
    options.gather_wal_writes = true;
    options.synchronous_full = false;
    auto db = Database::open(dir / "p.db", options);
    REQUIRE_FALSE(db);
    CHECK(db.error().code() == Errc::invalid_argument);
    options.synchronous_full = true;
    CHECK(Database::open(dir / "p.db", options));
    std::filesystem::remove_all(dir);
}
