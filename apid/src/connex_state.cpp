#include "apid/connex_state.hpp"

#include <boost/json/parse.hpp>
#include <fstream>
#include <stdexcept>

#include "storage/connex_repo.hpp"

namespace postern::api {

ConnexOptions ConnexOptions::from(const ConnexConfig& c, const std::filesystem::path& data_dir) {
    ConnexOptions o;
    o.tenant_rate_per_second = c.tenant_rate_per_second;
    o.tenant_burst = c.tenant_burst;
    o.tenant_daily_events = c.tenant_daily_events;
    o.ip_rate_per_second = c.ip_rate_per_second;
    o.ip_burst = c.ip_burst;
    o.max_body_bytes = c.max_body_bytes;
    o.preview_max_body_bytes = c.preview_max_body_bytes;
    o.reasoning.endpoint = c.reasoning_endpoint;
    o.reasoning.model = c.reasoning_model;
    o.reasoning.timeout = std::chrono::milliseconds(c.reasoning_timeout_ms);
    o.reasoning.max_tokens = c.reasoning_max_tokens;
    if (!c.reasoning_api_key_file.empty()) {
        std::filesystem::path p(c.reasoning_api_key_file);
        if (p.is_relative()) p = data_dir / p;
        std::ifstream in(p);
        if (!in)
            throw std::runtime_error("cannot read connex reasoning_api_key_file " + p.string());
        std::getline(in, o.reasoning.api_key);
        while (!o.reasoning.api_key.empty() &&
               (o.reasoning.api_key.back() == '\r' || o.reasoning.api_key.back() == ' '))
            o.reasoning.api_key.pop_back();
    }
    return o;
}

Result<connex::TenantWeights> parse_weights(const std::string& json) {
    if (json.empty()) return connex::TenantWeights{};
    boost::system::error_code ec;
    auto v = boost::json::parse(json, ec);
    if (ec) return fail(Errc::internal, "stored connex weights are not JSON: " + ec.message());
    return connex::weights_from_json(v);
}

Result<WeightsPtr> WeightsCache::get(const std::string& tenant_id, storage::Database& db) {
    {
        std::lock_guard lock(mu_);
        if (auto it = entries_.find(tenant_id); it != entries_.end()) return it->second.weights;
    }
    auto row = storage::load_connex_weights(db, tenant_id);
    if (!row) return tl::unexpected(row.error());
    auto w = parse_weights(row->json);
    if (!w) return tl::unexpected(w.error());
    auto ptr = std::make_shared<const connex::TenantWeights>(std::move(*w));
    put(tenant_id, row->version, ptr);
    std::lock_guard lock(mu_);
    return entries_.at(tenant_id).weights;  // the newest, whoever stored it
}

void WeightsCache::put(const std::string& tenant_id, std::int64_t version, WeightsPtr weights) {
    std::lock_guard lock(mu_);
    auto [it, fresh] = entries_.try_emplace(tenant_id, Entry{version, weights});
    if (!fresh && version > it->second.version) it->second = Entry{version, std::move(weights)};
}

ConnexState::ConnexState(ConnexOptions options)
    : options_(options),
      tenant_(options.tenant_rate_per_second, options.tenant_burst),
      ip_(options.ip_rate_per_second, options.ip_burst),
      quota_(options.tenant_daily_events),
      live_(options.reasoning) {}

}  // namespace postern::api
