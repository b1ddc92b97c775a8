#include "apid/read_pool.hpp"

namespace postern::api {

Result<storage::Database*> ReadPool::for_this_thread() {
    auto id = std::this_thread::get_id();
    {
        std::lock_guard lock(mu_);
        if (auto it = conns_.find(id); it != conns_.end()) return it->second.get();
    }
    // Open outside the lock; only this thread can insert under its own id.
    storage::OpenOptions options;
    options.synchronous_full = false;  // this connection never writes
    options.busy_timeout_ms = 2000;
    auto db = storage::Database::open(path_, options);
    if (!db) return tl::unexpected(db.error());
    std::lock_guard lock(mu_);
    auto* raw = db->get();
    conns_.emplace(id, std::move(*db));
    return raw;
}

}  // namespace postern::api
