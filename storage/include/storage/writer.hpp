#pragma once
// The group-commit writer (DESIGN.md §4). One thread owns the write connection. Callers submit
// jobs from any thread; the writer drains everything queued into one BEGIN IMMEDIATE transaction,
// runs each job inside its own SAVEPOINT (a failing job rolls back alone), commits once (one
// fsync with synchronous=FULL), and only then calls each job's completion, on the writer thread.
// When SQLite rolls the whole transaction back under a job (as it may for a full disk or an I/O
// error), every job of that batch gets the job's error: none of them is committed.
// Completions must be quick and must not block: post the result to your own executor.
//
// Durability: a completion called with success means the job's changes are on disk.
//
// Checkpoints: a second thread with its own connection copies the WAL back into the database
// (PASSIVE, concurrent with commits) each time the WAL has grown by checkpoint_frames frames
// since the last request, at a lower CPU priority than the sessions. Under steady load such a
// pass never quite finishes (commits land while it copies), so the WAL cannot start over from
// its beginning, and SQLite leaves what it copied unsynced in the database file: the thread
// syncs the file itself after such a pass. Once the WAL holds force_checkpoint_frames frames, the
// writer thread runs a PASSIVE pass itself, between batches and after the batch's completions;
// with no commit landing meanwhile it finishes (little is left to copy, and to sync, by then:
// sessions whose jobs arrive meanwhile wait for it), and the next commit starts the WAL over. It
// does not finish while another connection reads an older snapshot (SQLite cannot copy past it) or
// while the checkpoint thread is mid-pass (busy): the writer then tries again after its next batch,
// so the WAL stays near force_checkpoint_frames unless a reader holds a snapshot for long; once the
// WAL starts over after that, its file is cut back to force_checkpoint_frames pages
// (journal_size_limit).
//
// Asking for a pass on every commit once the WAL was large, as before, copied the same hot pages
// (table and index leaves) again for every few messages: more disk writes than the WAL itself,
// and ~10% of the CPU per message.
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
        std::uint64_t checkpoint_syncs = 0;    // its database syncs, after passes short of the end
        std::uint64_t forced_checkpoints = 0;  // finished by the writer (force_checkpoint_frames)
        std::uint64_t job_us = 0;              // time spent running jobs (their SQL), all batches
        std::uint64_t commit_us = 0;           // time spent in COMMIT (writing and syncing the WAL)
    };
    struct Options {
        std::size_t max_batch = 512;          // jobs per group commit
        int checkpoint_frames = 2000;         // WAL growth (4 KiB pages) that starts a pass
        int force_checkpoint_frames = 20000;  // the writer checkpoints (80 MiB), see above
        // How much nicer than the process the checkpoint thread runs (see run_checkpoints). On
        // a saturated machine a nicer thread waits long for a core, and while it is mid-pass
        // the writer's forced pass cannot run: the WAL then grows past the force threshold.
        int checkpoint_nicer = 10;
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
    void force_checkpoint();
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
    int checkpointed_frames_ = 0;    // the WAL's size in frames when a pass was last requested
    int wal_frames_ = 0;             // the WAL's size in frames after the last commit
    bool force_checkpoint_ = false;  // writer thread only: the WAL reached force_checkpoint_frames
    std::thread checkpoint_thread_;
};

}  // namespace postern::storage
