#pragma once
// The group-commit writer (DESIGN.md §4). One thread owns the write connection. Callers submit
// jobs from any thread; the writer drains everything queued into one BEGIN IMMEDIATE transaction,
// runs each job inside its own SAVEPOINT (a failing job rolls back alone), commits once (one
// fsync with synchronous=FULL), and only then calls each job's completion, on the writer thread.
// Completions must be quick and must not block: post the result to your own executor.
//
// Durability: a completion called with success means the job's changes are on disk.
//
// Checkpoints: the write connection never checkpoints inline (that would stall every session
// waiting on the next commit). A second thread with its own connection copies the WAL back into
// the database (PASSIVE, concurrent with commits) once the WAL holds kCheckpointFrames frames;
// only past kForceCheckpointFrames does the writer checkpoint itself, to bound the WAL.
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

struct sqlite3;

#include "common/result.hpp"
#include "storage/database.hpp"

namespace postern::storage {

class Writer {
   public:
    using Job = std::function<Result<void>(Database&)>;
    using Completion = std::function<void(Result<void>)>;

    struct Stats {
        std::uint64_t jobs = 0;
        std::uint64_t commits = 0;
        std::uint64_t checkpoints = 0;
    };
    static constexpr int kCheckpointFrames = 2000;
    static constexpr int kForceCheckpointFrames = 50000;

    // Opens the write connection (migrating the schema) and starts the thread.
    [[nodiscard]] static Result<std::unique_ptr<Writer>> start(const std::filesystem::path& db_path,
                                                              std::size_t max_batch = 512);
    ~Writer();  // stop()s

    // Thread-safe. After stop() has begun, the completion gets Errc::io ("writer stopped").
    void submit(Job job, Completion done);
    // Finishes every job already queued, then joins the thread. Idempotent.
    void stop();
    Stats stats() const;

   private:
    struct Item {
        Job job;
        Completion done;
    };
    Writer(std::unique_ptr<Database> db, std::unique_ptr<Database> checkpoint_db,
           std::size_t max_batch);
    void run();
    void run_batch(std::deque<Item>& batch);
    void run_checkpoints();
    static int on_wal_commit(void* self, sqlite3* db, const char* name, int frames);

    std::unique_ptr<Database> db_;
    std::size_t max_batch_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::deque<Item> queue_;
    bool stopping_ = false;
    Stats stats_;
    std::thread thread_;

    std::unique_ptr<Database> checkpoint_db_;
    std::condition_variable checkpoint_cv_;
    bool checkpoint_wanted_ = false;
    std::thread checkpoint_thread_;
};

}  // namespace postern::storage
