#pragma once
// Per-thread read connections (DESIGN.md §3): each io thread gets its own storage::Database,
// opened on first use and kept until the pool is destroyed. They are ordinary WAL connections
// (a read-only SQLite connection would need the -shm file to exist already) that postern-apid
// only reads through. Thread-safe; a returned connection belongs to the calling thread.
#include <filesystem>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "common/result.hpp"
#include "storage/database.hpp"

namespace postern::api {

class ReadPool {
 public:
    explicit ReadPool(std::filesystem::path db_path) : path_(std::move(db_path)) {}

    // The calling thread's connection. The pointer stays valid until the pool is destroyed;
    // only the calling thread may use it.
    [[nodiscard]] Result<storage::Database*> for_this_thread();

 private:
    std::filesystem::path path_;
    std::mutex mu_;
    std::unordered_map<std::thread::id, std::unique_ptr<storage::Database>> conns_;  // mu_
};

}  // namespace postern::api
