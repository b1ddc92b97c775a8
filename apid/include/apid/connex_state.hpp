#pragma once
// What the Connex routes keep between requests: their limits, the rate limiters and daily quota,
// and a cache of each tenant's learned weights (connex::TenantWeights).
//
// Weights cache: postern-apid is the only process that writes connex_weights, and every write
// (an outcome) goes through the writer, which updates the cache after its commit with the new
// version. A miss loads the row from the caller's read connection; an older version never
// replaces a newer one, so a slow loader cannot undo an outcome. Entries are immutable
// (shared_ptr<const>) so readers use them without a lock. Thread-safe.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "apid/live_reasoner.hpp"
#include "apid/rate_limit.hpp"
#include "common/config.hpp"
#include "common/result.hpp"
#include "connex/weights.hpp"
#include "storage/database.hpp"

namespace postern::api {

struct ConnexOptions {
    double tenant_rate_per_second = 100;
    double tenant_burst = 200;
    std::int64_t tenant_daily_events = 0;  // 0: unlimited
    double ip_rate_per_second = 5;
    double ip_burst = 20;
    std::size_t max_body_bytes = 512 * 1024;
    std::size_t preview_max_body_bytes = 64 * 1024;
    LiveReasonerOptions reasoning;  // endpoint "" = deterministic only

    // `data_dir` resolves reasoning_api_key_file; throws std::runtime_error when that file is
    // configured but unreadable (a start-up error).
    static ConnexOptions from(const ConnexConfig& c, const std::filesystem::path& data_dir = {});
};

using WeightsPtr = std::shared_ptr<const connex::TenantWeights>;

class WeightsCache {
 public:
    // The tenant's weights (empty weights when none are stored).
    [[nodiscard]] Result<WeightsPtr> get(const std::string& tenant_id, storage::Database& db);
    // Called after a commit that stored `version`.
    void put(const std::string& tenant_id, std::int64_t version, WeightsPtr weights);

 private:
    struct Entry {
        std::int64_t version;
        WeightsPtr weights;
    };
    std::mutex mu_;
    std::unordered_map<std::string, Entry> entries_;  // guarded by mu_
};

// Parses a stored weights row (empty text: no weights yet).
[[nodiscard]] Result<connex::TenantWeights> parse_weights(const std::string& json);

class ConnexState {
 public:
    explicit ConnexState(ConnexOptions options = {});

    const ConnexOptions& options() const { return options_; }
    RateLimiter& tenant_limiter() { return tenant_; }
    RateLimiter& ip_limiter() { return ip_; }
    DailyQuota& quota() { return quota_; }
    WeightsCache& weights() { return weights_; }
    const LiveReasoner& live() const { return live_; }

 private:
    ConnexOptions options_;
    RateLimiter tenant_;
    RateLimiter ip_;
    DailyQuota quota_;
    WeightsCache weights_;
    LiveReasoner live_;
};

}  // namespace postern::api
