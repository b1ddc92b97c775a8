#pragma once
// Internal to the storage library: the WAL write-gathering VFS shim (see wal_vfs.cpp).

namespace postern::storage {

// Registers the shim once (not as the default VFS) and returns its name for sqlite3_open_v2,
// or nullptr when the default VFS cannot be wrapped (then open normally).
const char* wal_gathering_vfs();

}  // namespace postern::storage
