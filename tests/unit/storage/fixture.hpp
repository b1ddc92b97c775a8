#pragma once
// Shared by the storage unit tests: a migrated database in a temporary directory.
#include <catch2/catch.hpp>
#include <filesystem>
#include <memory>
#include <string>

#include "common/ids.hpp"
#include "common/mime.hpp"
#include "storage/database.hpp"
#include "storage/migrations.hpp"

namespace postern::storage::testing {

struct TempDb {
    std::filesystem::path dir;
    std::unique_ptr<Database> db;
    TempDb() {
        dir = std::filesystem::temp_directory_path() / ("postern-st-" + new_id("t"));
        std::filesystem::create_directories(dir);
        db = std::move(*Database::open(dir / "p.db"));
        REQUIRE(migrate(*db));
    }
    ~TempDb() {
        db.reset();
        std::filesystem::remove_all(dir);
    }
};

inline mime::Summary summary(std::string subject, std::string from, std::string to,
                             std::string message_id = "", std::string in_reply_to = "") {
    mime::Summary s;
    s.subject = std::move(subject);
    s.from.push_back({"", std::move(from)});
    s.to.push_back({"", std::move(to)});
    s.message_id = std::move(message_id);
    s.in_reply_to = std::move(in_reply_to);
    return s;
}

}  // namespace postern::storage::testing
