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
// the database (PASSIVE, concurrent with commits) each time the WAL has grown by
// checkpoint_frames frames since its last pass. Under steady load such a pass never quite
// finishes (commits land while it copies), so the WAL cannot start over from its beginning; past
// force_checkpoint_frames the writer checkpoints itself, which finishes (little is left to copy
// by then) and lets the next commit restart the WAL. Asking for a pass on every commit once the
// WAL was large, as before, copied the same hot pages (table and index leaves) again for every
// few messages: more disk writes than the WAL itself, and ~10% of the CPU per message.
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
        std::uint64_t checkpoints = 0;         // passes of the checkpoint thread
        std::uint64_t forced_checkpoints = 0;  // by the writer, at force_checkpoint_frames
    };
    struct Options {
        std::size_t max_batch = 512;          // jobs per group commit
        int checkpoint_frames = 2000;         // WAL growth (4 KiB pages) that starts a pass
        int force_checkpoint_frames = 20000;  // the WAL's bound (80 MiB), see above
    };

    // Opens the write connection (migrating the schema) and starts the thread.
    [[nodiscard]] static Result<std::unique_ptr<Writer>> start(const std::filesystem::path& db_path,
                                                               Options options);
    [[nodiscard]] static Result<std::unique_ptr<Writer>> start(
        const std::filesystem::path& db_path) {
        return start(db_path, Options{});
    }
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
    Writer(std::unique_ptr<Database> db, std::unique_ptr<Database> checkpoint_db, Options options);
    void run();
    void run_batch(std::deque<Item>& batch);
    void run_checkpoints();
    static int on_wal_commit(void* self, sqlite3* db, const char* name, int frames);

    std::unique_ptr<Database> db_;
    Options options_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::deque<Item> queue_;
    bool stopping_ = false;
    Stats stats_;
    std::thread thread_;

    std::unique_ptr<Database> checkpoint_db_;
    std::condition_variable checkpoint_cv_;
    bool checkpoint_wanted_ = false;
    int checkpointed_frames_ = 0;  // the WAL's size in frames at the last pass's start
    std::thread checkpoint_thread_;
};

}  // namespace postern::storage
