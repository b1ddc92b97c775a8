// "postern-wal": a VFS shim over the default one that gathers the writes SQLite makes to a WAL
// file. SQLite appends each frame with two write calls (its 24-byte header, then the page), so a
// group commit of a few hundred pages costs a few hundred system calls before its one fsync. The
// shim keeps a contiguous run of WAL writes in memory and hands it to the real file in one write
// when SQLite syncs the file, reads it, asks its size, truncates or closes it, writes somewhere
// else in it, or the run passes kMaxPending bytes. Every other file, and every other method,
// passes straight through.
//
// Why this is safe: SQLite only treats WAL frames as committed after xSync returns (we use
// synchronous=FULL), and a sync writes the run first; a failed write surfaces as the sync's (or
// the read's) error, so the commit fails and nothing is acknowledged. Other connections learn of
// new frames from the wal-index only after that sync. Reads of the file, on this connection or
// any other in the process, see the run because it is written out before any read of the file.
#include "wal_vfs.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <new>
#include <string>

namespace postern::storage {
namespace {

constexpr std::size_t kMaxPending = 4 * 1024 * 1024;
// The unix VFS masks each write to 17 bits (os_unix.c, seekAndWrite: "nBuf &= 0x1ffff"), so a
// run goes out in pieces below 128 KiB.
constexpr std::size_t kMaxWrite = 64 * 1024;

sqlite3_vfs* g_base = nullptr;
sqlite3_vfs g_vfs;

struct ShimFile {
    sqlite3_file base;     // our methods
    sqlite3_file* real;    // the base VFS's file, allocated right after this struct
    bool gather;           // a WAL file
    std::string* pending;  // the gathered run (owned)
    sqlite3_int64 pending_at;
};

ShimFile* shim(sqlite3_file* f) { return reinterpret_cast<ShimFile*>(f); }

int flush(ShimFile* f) {
    if (!f->pending || f->pending->empty()) return SQLITE_OK;
    int rc = SQLITE_OK;
    for (std::size_t done = 0; done < f->pending->size() && rc == SQLITE_OK; done += kMaxWrite) {
        std::size_t n = std::min(kMaxWrite, f->pending->size() - done);
        rc = f->real->pMethods->xWrite(f->real, f->pending->data() + done, static_cast<int>(n),
                                       f->pending_at + static_cast<sqlite3_int64>(done));
    }
    f->pending->clear();
    return rc;
}

int x_close(sqlite3_file* file) {
    ShimFile* f = shim(file);
    int rc = flush(f);
    int rc2 = f->real->pMethods ? f->real->pMethods->xClose(f->real) : SQLITE_OK;
    delete f->pending;
    f->pending = nullptr;
    return rc != SQLITE_OK ? rc : rc2;
}

int x_read(sqlite3_file* file, void* out, int n, sqlite3_int64 at) {
    ShimFile* f = shim(file);
    if (int rc = flush(f); rc != SQLITE_OK) return rc;
    return f->real->pMethods->xRead(f->real, out, n, at);
}

int x_write(sqlite3_file* file, const void* data, int n, sqlite3_int64 at) {
    ShimFile* f = shim(file);
    if (!f->gather) return f->real->pMethods->xWrite(f->real, data, n, at);
    auto size = static_cast<sqlite3_int64>(f->pending->size());
    if (size > 0 && (at != f->pending_at + size ||
                     f->pending->size() + static_cast<std::size_t>(n) > kMaxPending)) {
        if (int rc = flush(f); rc != SQLITE_OK) return rc;
        size = 0;
    }
    if (size == 0) f->pending_at = at;
    try {
        f->pending->append(static_cast<const char*>(data), static_cast<std::size_t>(n));
    } catch (const std::bad_alloc&) {
        if (int rc = flush(f); rc != SQLITE_OK) return rc;
        return f->real->pMethods->xWrite(f->real, data, n, at);
    }
    return SQLITE_OK;
}

int x_truncate(sqlite3_file* file, sqlite3_int64 size) {
    ShimFile* f = shim(file);
    if (int rc = flush(f); rc != SQLITE_OK) return rc;
    return f->real->pMethods->xTruncate(f->real, size);
}

int x_sync(sqlite3_file* file, int flags) {
    ShimFile* f = shim(file);
    if (int rc = flush(f); rc != SQLITE_OK) return rc;
    return f->real->pMethods->xSync(f->real, flags);
}

int x_file_size(sqlite3_file* file, sqlite3_int64* size) {
    ShimFile* f = shim(file);
    if (int rc = flush(f); rc != SQLITE_OK) return rc;
    return f->real->pMethods->xFileSize(f->real, size);
}

int x_lock(sqlite3_file* f, int l) { return shim(f)->real->pMethods->xLock(shim(f)->real, l); }
int x_unlock(sqlite3_file* f, int l) { return shim(f)->real->pMethods->xUnlock(shim(f)->real, l); }
int x_check_reserved(sqlite3_file* f, int* out) {
    return shim(f)->real->pMethods->xCheckReservedLock(shim(f)->real, out);
}
int x_file_control(sqlite3_file* file, int op, void* arg) {
    ShimFile* f = shim(file);
    // Anything that may look at the file's bytes or size sees them written.
    if (int rc = flush(f); rc != SQLITE_OK) return rc;
    return f->real->pMethods->xFileControl(f->real, op, arg);
}
int x_sector_size(sqlite3_file* f) { return shim(f)->real->pMethods->xSectorSize(shim(f)->real); }
int x_device_characteristics(sqlite3_file* f) {
    return shim(f)->real->pMethods->xDeviceCharacteristics(shim(f)->real);
}
// The base VFS (unix) gives version-3 files; older ones lack these methods.
bool has_v2(sqlite3_file* f) { return shim(f)->real->pMethods->iVersion >= 2; }
bool has_v3(sqlite3_file* f) { return shim(f)->real->pMethods->iVersion >= 3; }
int x_shm_map(sqlite3_file* f, int region, int size, int extend, void volatile** out) {
    if (!has_v2(f)) return SQLITE_IOERR_SHMMAP;
    return shim(f)->real->pMethods->xShmMap(shim(f)->real, region, size, extend, out);
}
int x_shm_lock(sqlite3_file* f, int offset, int n, int flags) {
    if (!has_v2(f)) return SQLITE_IOERR_SHMLOCK;
    return shim(f)->real->pMethods->xShmLock(shim(f)->real, offset, n, flags);
}
void x_shm_barrier(sqlite3_file* f) {
    if (has_v2(f)) shim(f)->real->pMethods->xShmBarrier(shim(f)->real);
}
int x_shm_unmap(sqlite3_file* f, int del) {
    if (!has_v2(f)) return SQLITE_OK;
    return shim(f)->real->pMethods->xShmUnmap(shim(f)->real, del);
}
int x_fetch(sqlite3_file* file, sqlite3_int64 at, int n, void** out) {
    ShimFile* f = shim(file);
    *out = nullptr;
    if (!has_v3(file)) return SQLITE_OK;
    if (int rc = flush(f); rc != SQLITE_OK) return rc;
    return f->real->pMethods->xFetch(f->real, at, n, out);
}
int x_unfetch(sqlite3_file* f, sqlite3_int64 at, void* p) {
    if (!has_v3(f)) return SQLITE_OK;
    return shim(f)->real->pMethods->xUnfetch(shim(f)->real, at, p);
}

sqlite3_io_methods g_methods;

int x_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
    ShimFile* f = shim(file);
    f->real = reinterpret_cast<sqlite3_file*>(f + 1);
    f->gather = (flags & SQLITE_OPEN_WAL) != 0;
    f->pending = nullptr;
    f->pending_at = 0;
    file->pMethods = nullptr;
    int rc = g_base->xOpen(g_base, name, f->real, flags, out_flags);
    if (rc != SQLITE_OK) {
        // The base may have set pMethods even on failure; SQLite then calls xClose on *our*
        // file only if pMethods is set, so close the real one here.
        if (f->real->pMethods) f->real->pMethods->xClose(f->real);
        return rc;
    }
    if (f->gather) {
        f->pending = new (std::nothrow) std::string();
        if (!f->pending) f->gather = false;
    }
    file->pMethods = &g_methods;
    return SQLITE_OK;
}

// The rest of the VFS is the base's.
int x_delete(sqlite3_vfs*, const char* name, int sync) {
    return g_base->xDelete(g_base, name, sync);
}
int x_access(sqlite3_vfs*, const char* name, int flags, int* out) {
    return g_base->xAccess(g_base, name, flags, out);
}
int x_full_pathname(sqlite3_vfs*, const char* name, int n, char* out) {
    return g_base->xFullPathname(g_base, name, n, out);
}
void* x_dl_open(sqlite3_vfs*, const char* name) { return g_base->xDlOpen(g_base, name); }
void x_dl_error(sqlite3_vfs*, int n, char* out) { g_base->xDlError(g_base, n, out); }
void (*x_dl_sym(sqlite3_vfs*, void* h, const char* sym))(void) {
    return g_base->xDlSym(g_base, h, sym);
}
void x_dl_close(sqlite3_vfs*, void* h) { g_base->xDlClose(g_base, h); }
int x_randomness(sqlite3_vfs*, int n, char* out) { return g_base->xRandomness(g_base, n, out); }
int x_sleep(sqlite3_vfs*, int us) { return g_base->xSleep(g_base, us); }
int x_current_time(sqlite3_vfs*, double* out) { return g_base->xCurrentTime(g_base, out); }
int x_get_last_error(sqlite3_vfs*, int n, char* out) {
    return g_base->xGetLastError ? g_base->xGetLastError(g_base, n, out) : 0;
}
int x_current_time_int64(sqlite3_vfs*, sqlite3_int64* out) {
    return g_base->xCurrentTimeInt64(g_base, out);
}

}  // namespace

const char* wal_gathering_vfs() {
    static std::once_flag once;
    static const char* name = nullptr;
    std::call_once(once, [] {
        g_base = sqlite3_vfs_find(nullptr);
        if (!g_base || g_base->iVersion < 2) return;
        g_methods = sqlite3_io_methods{};
        g_methods.iVersion = 3;
        g_methods.xClose = x_close;
        g_methods.xRead = x_read;
        g_methods.xWrite = x_write;
        g_methods.xTruncate = x_truncate;
        g_methods.xSync = x_sync;
        g_methods.xFileSize = x_file_size;
        g_methods.xLock = x_lock;
        g_methods.xUnlock = x_unlock;
        g_methods.xCheckReservedLock = x_check_reserved;
        g_methods.xFileControl = x_file_control;
        g_methods.xSectorSize = x_sector_size;
        g_methods.xDeviceCharacteristics = x_device_characteristics;
        g_methods.xShmMap = x_shm_map;
        g_methods.xShmLock = x_shm_lock;
        g_methods.xShmBarrier = x_shm_barrier;
        g_methods.xShmUnmap = x_shm_unmap;
        g_methods.xFetch = x_fetch;
        g_methods.xUnfetch = x_unfetch;

        g_vfs = sqlite3_vfs{};
        g_vfs.iVersion = 2;
        g_vfs.szOsFile = static_cast<int>(sizeof(ShimFile)) + g_base->szOsFile;
        g_vfs.mxPathname = g_base->mxPathname;
        g_vfs.zName = "postern-wal";
        g_vfs.xOpen = x_open;
        g_vfs.xDelete = x_delete;
        g_vfs.xAccess = x_access;
        g_vfs.xFullPathname = x_full_pathname;
        g_vfs.xDlOpen = x_dl_open;
        g_vfs.xDlError = x_dl_error;
        g_vfs.xDlSym = x_dl_sym;
        g_vfs.xDlClose = x_dl_close;
        g_vfs.xRandomness = x_randomness;
        g_vfs.xSleep = x_sleep;
        g_vfs.xCurrentTime = x_current_time;
        g_vfs.xGetLastError = x_get_last_error;
        g_vfs.xCurrentTimeInt64 = x_current_time_int64;
        if (sqlite3_vfs_register(&g_vfs, 0) == SQLITE_OK) name = g_vfs.zName;
    });
    return name;
}

}  // namespace postern::storage
