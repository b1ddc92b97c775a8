#include "storage/writer.hpp"

#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <string>

#include "storage/migrations.hpp"

namespace postern::storage {
namespace {

constexpr long long kWalPageBytes = 4096;  // SQLite's default page size, which we keep
constexpr long long kWalFrameHeaderBytes = 24;
constexpr int kCachePages = 2000;  // 8 MiB
// Not a multiple of 256: PRAGMA cache_spill=N also reads N as a boolean, through its low byte
// (16384 switched spilling off altogether, and a transaction could then grow without bound).
constexpr int kSpillPages = 16000;  // 62.5 MiB

// fdatasync of the database file, through the connection's VFS. Errors are only logged: the
// sync SQLite makes after a complete pass still decides whether the WAL may start over.
bool sync_database(Database& db) {
    sqlite3_file* file = nullptr;
    if (sqlite3_file_control(db.handle(), "main", SQLITE_FCNTL_FILE_POINTER, &file) != SQLITE_OK ||
        file == nullptr || file->pMethods == nullptr)
        return false;
    if (int rc = file->pMethods->xSync(file, SQLITE_SYNC_NORMAL); rc != SQLITE_OK) {
        spdlog::warn("writer: syncing the database file after a checkpoint pass failed: {}",
                     sqlite3_errstr(rc));
        return false;
    }
    return true;
}

}  // namespace

Result<std::unique_ptr<Writer>> Writer::start(const std::filesystem::path& db_path,
                                              Options options) {
    OpenOptions open_options;
    open_options.gather_wal_writes = true;
    auto db = Database::open(db_path, open_options);
    if (!db) return tl::unexpected(db.error());
    if (auto r = migrate(**db); !r) return tl::unexpected(r.error());
    // The page cache keeps kCachePages of what the writer reads, and grows to kSpillPages while a
    // transaction dirties pages before SQLite spills any into the WAL mid-transaction (a large
    // group commit dirties thousands of pages, and a spilled page is written twice). It is kept
    // small because SQLite (3.40, as Debian 12 ships it) walks the whole cache at nearly every
    // commit: when a b-tree split reorders its new pages, balance_nonroot swaps their numbers
    // through the lock-byte page's (262,145 with 4 KiB pages), pcache1Rekey takes that for the
    // largest page cached, and the commit's truncation of the cache to the database's size then
    // visits every hash slot and page. With 64 MiB of cache that walk cost the writer 15-30 us
    // per message at ingress (docs/performance.md, round 12).
    if (auto r = (*db)->exec("PRAGMA cache_size=" + std::to_string(kCachePages)); !r)
        return tl::unexpected(r.error());
    if (auto r = (*db)->exec("PRAGMA cache_spill=" + std::to_string(kSpillPages)); !r)
        return tl::unexpected(r.error());
    // Each job runs in a SAVEPOINT, whose statement journal would otherwise spill into a
    // temporary file (created, written page by page and deleted in every group commit). It only
    // serves rollbacks of the open transaction, so memory is the right place for it.
    if (auto r = (*db)->exec("PRAGMA temp_store=MEMORY"); !r) return tl::unexpected(r.error());
    // The WAL file is reused from its start, not truncated, each time the WAL starts over (an
    // overwrite syncs faster than an append). Past force_checkpoint_frames it only grows while a
    // reader holds an old snapshot; once that reader is gone and the WAL starts over, SQLite cuts
    // the file back to this size, so a long read leaves no lasting cost on disk.
    const long long wal_limit = static_cast<long long>(options.force_checkpoint_frames) *
                                (kWalPageBytes + kWalFrameHeaderBytes);
    if (auto r = (*db)->exec("PRAGMA journal_size_limit=" + std::to_string(wal_limit)); !r)
        return tl::unexpected(r.error());
    auto checkpoint_db = Database::open(db_path);
    if (!checkpoint_db) return tl::unexpected(checkpoint_db.error());
    return std::unique_ptr<Writer>(new Writer(std::move(*db), std::move(*checkpoint_db), options));
}

Writer::Writer(std::unique_ptr<Database> db, std::unique_ptr<Database> checkpoint_db,
               Options options)
    : db_(std::move(db)), options_(options), checkpoint_db_(std::move(checkpoint_db)) {
    options_.max_batch = std::max<std::size_t>(options_.max_batch, 1);
    // Replaces SQLite's automatic checkpoint on commit (which also uses the WAL hook).
    sqlite3_wal_hook(db_->handle(), &Writer::on_wal_commit, this);
    thread_ = std::thread([this] {
        pthread_setname_np(pthread_self(), "pst-writer");  // for top -H, perf and the tests
        run();
    });
    checkpoint_thread_ = std::thread([this] {
        pthread_setname_np(pthread_self(), "pst-checkpoint");
        run_checkpoints();
    });
}

int Writer::on_wal_commit(void* self, sqlite3*, const char*, int frames) {
    // Inside COMMIT, on the writer thread, before the batch's completions: only take note.
    auto* w = static_cast<Writer*>(self);
    if (frames >= w->options_.force_checkpoint_frames) w->force_checkpoint_ = true;
    std::lock_guard lock(w->mu_);
    w->wal_frames_ = frames;
    if (frames < w->checkpointed_frames_) w->checkpointed_frames_ = 0;  // the WAL started over
    if (frames - w->checkpointed_frames_ >= w->options_.checkpoint_frames &&
        !w->checkpoint_wanted_) {
        w->checkpoint_wanted_ = true;
        w->checkpointed_frames_ = frames;
        w->checkpoint_cv_.notify_one();
    }
    return SQLITE_OK;
}

void Writer::force_checkpoint() {
    force_checkpoint_ = false;
    int log = 0, copied = 0;
    int rc =
        sqlite3_wal_checkpoint_v2(db_->handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
    if (rc == SQLITE_OK && copied == log) {
        std::lock_guard lock(mu_);
        checkpointed_frames_ = 0;
        stats_.forced_checkpoints += 1;
        return;
    }
    // Busy (the checkpoint thread is mid-pass) or held back by a reader's snapshot: the next
    // commit asks again.
    spdlog::debug("writer: WAL checkpoint unfinished: rc {}, {} of {} frames", rc, copied, log);
}

void Writer::run_checkpoints() {
    // Checkpoints can wait; sessions cannot. A pass copies thousands of pages in one burst, and on
    // a small machine it took a core from the io thread and the writer just when they had work:
    // 10 steps nicer than the process, ingress rose ~10% (docs/performance.md). A checkpointer
    // starved for long only lets the WAL grow to force_checkpoint_frames, where the writer
    // checkpoints itself. Becoming nicer needs no privilege; it applies to this thread alone
    // (Linux).
    errno = 0;
    int nice = getpriority(PRIO_PROCESS, 0);  // this thread's, as inherited (-1 is valid)
    if (options_.checkpoint_nicer > 0 && errno == 0 &&
        setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()),
                    std::min(nice + options_.checkpoint_nicer, 19)) != 0)
        spdlog::debug("writer: checkpoint thread keeps its priority: {}", std::strerror(errno));
    int last_log = 0, last_copied = 0;  // the WAL's frames, and those copied, after the last pass
    for (;;) {
        {
            std::unique_lock lock(mu_);
            checkpoint_cv_.wait(lock, [&] { return stopping_ || checkpoint_wanted_; });
            if (!checkpoint_wanted_) return;  // stopping, nothing asked for
            checkpoint_wanted_ = false;
        }
        int log = 0, copied = 0;
        int rc = sqlite3_wal_checkpoint_v2(checkpoint_db_->handle(), nullptr,
                                           SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
        if (rc != SQLITE_OK && rc != SQLITE_BUSY)
            spdlog::warn("writer: checkpoint failed: {}", checkpoint_db_->last_error());
        // SQLite syncs the database file only after a pass that reached the WAL's end as it is
        // when the pass ends. Under load commits land during every pass, so only the writer's
        // forced pass gets there, and its sync then flushed every page the passes before it had
        // copied (~29 ms at 20,000 frames, with every session waiting; docs/performance.md round
        // 12). Flushing them here, after each pass that copied more (`copied` counts from the
        // WAL's start, and a WAL that started over is shorter than before) and stopped short of
        // the WAL's end (a reader's snapshot) or saw the WAL grow meanwhile, leaves the forced
        // pass only what was copied since.
        int frames_now = 0;
        {
            std::lock_guard lock(mu_);
            frames_now = wal_frames_;
        }
        const bool copied_more = copied > (log >= last_log ? last_copied : 0);
        bool synced = false;
        if (rc == SQLITE_OK && copied_more && (copied < log || frames_now > log))
            synced = sync_database(*checkpoint_db_);
        if (rc == SQLITE_OK) {
            last_log = log;
            last_copied = copied;
        }
        std::lock_guard lock(mu_);
        stats_.checkpoints += 1;
        stats_.checkpoint_syncs += synced ? 1 : 0;
    }
}

Writer::~Writer() { stop(); }

void Writer::submit(Job job, Completion done) {
    {
        std::lock_guard lock(mu_);
        if (!stopping_) {
            queue_.push_back(Item{std::move(job), std::move(done)});
            cv_.notify_one();
            return;
        }
    }
    done(fail(Errc::io, "writer stopped"));
}

void Writer::stop() {
    {
        std::lock_guard lock(mu_);
        if (stopping_ && !thread_.joinable()) return;
        stopping_ = true;
        cv_.notify_one();
        checkpoint_cv_.notify_one();
    }
    if (thread_.joinable()) thread_.join();
    if (checkpoint_thread_.joinable()) checkpoint_thread_.join();
}

Writer::Stats Writer::stats() const {
    std::lock_guard lock(mu_);
    return stats_;
}

void Writer::run() {
    std::deque<Item> batch;
    for (;;) {
        {
            std::unique_lock lock(mu_);
            cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
            if (queue_.empty()) return;  // stopping, and everything queued is done
            while (!queue_.empty() && batch.size() < options_.max_batch) {
                batch.push_back(std::move(queue_.front()));
                queue_.pop_front();
            }
        }
        run_batch(batch);
        batch.clear();
        if (force_checkpoint_) force_checkpoint();  // after the completions, before the next batch
    }
}

void Writer::run_batch(std::deque<Item>& batch) {
    using Clock = std::chrono::steady_clock;
    auto us = [](Clock::duration d) {
        return static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::microseconds>(d).count());
    };
    const auto started = Clock::now();
    std::vector<Result<void>> results;
    results.reserve(batch.size());
    auto tx = Transaction::begin(*db_);
    if (!tx) {
        spdlog::error("writer: cannot begin a transaction: {}", tx.error().message());
        for (auto& item : batch) item.done(tl::unexpected(tx.error()));
        return;
    }
    // Set when the transaction ended under a job: on some errors (SQLITE_FULL, SQLITE_IOERR,
    // SQLITE_NOMEM) SQLite rolls the whole transaction back, not just the statement. Then the
    // jobs before it are undone too, and a SAVEPOINT for the next would open a transaction of its
    // own that its RELEASE commits: every job of the batch gets that job's error instead.
    std::optional<Error> lost;
    for (auto& item : batch) {
        // A savepoint per job: one job's failure must not undo its neighbours.
        if (auto r = db_->run("SAVEPOINT job"); !r) {
            results.push_back(tl::unexpected(r.error()));
            continue;
        }
        Result<void> r;
        try {
            r = item.job(*db_);
        } catch (const std::exception& e) {
            r = fail(Errc::internal, std::string("job threw: ") + e.what());
        }
        if (sqlite3_get_autocommit(db_->handle()) != 0) {
            lost = r ? Error(Errc::internal, "a job ended the writer's transaction") : r.error();
            break;
        }
        if (!r) (void)db_->run("ROLLBACK TO job");
        (void)db_->run("RELEASE job");
        results.push_back(std::move(r));
    }
    const auto ran = Clock::now();
    Result<void> committed = lost ? Result<void>(tl::unexpected(*lost)) : tx->commit();
    const auto done = Clock::now();
    {
        std::lock_guard lock(mu_);
        stats_.jobs += batch.size();
        stats_.commits += 1;
        stats_.job_us += us(ran - started);
        stats_.commit_us += us(done - ran);
    }
    for (std::size_t i = 0; i < batch.size(); ++i) {
        if (!committed) {
            batch[i].done(tl::unexpected(committed.error()));
        } else {
            batch[i].done(std::move(results[i]));
        }
    }
    if (lost)
        spdlog::error(
            "writer: the transaction was rolled back under a job, failing its batch of "
            "{}: {}",
            batch.size(), lost->message());
    else if (!committed)
        spdlog::error("writer: commit failed: {}", committed.error().message());
}

}  // namespace postern::storage
