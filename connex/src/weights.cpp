#include "connex/weights.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>

namespace postern::connex {
namespace json = boost::json;

double TenantWeights::confidence_delta(Status s) const {
    auto it = status_confidence.find(name(s));
    return it == status_confidence.end() ? 0.0 : it->second;
}

double TenantWeights::feature_multiplier(Status s, std::string_view feature) const {
    if (feature_deltas.empty()) return 1.0;
    auto it = feature_deltas.find(name(s));
    if (it == feature_deltas.end()) return 1.0;
    auto jt = it->second.find(feature);
    return jt == it->second.end() ? 1.0 : 1.0 + jt->second;
}

bool TenantWeights::forces_review(std::string_view operation_type) const {
    auto it = operations.find(operation_type);
    return it != operations.end() && it->second.force_review;
}

int TenantWeights::fit_delta(Status s) const {
    auto it = statuses.find(name(s));
    if (it == statuses.end() || it->second.outcomes == 0) return 0;
    double mean = double(it->second.value_sum) / it->second.outcomes;
    return std::clamp(static_cast<int>(std::lround(mean / 5.0)), -kMaxFitDelta, kMaxFitDelta);
}

json::object to_json(const TenantWeights& w) {
    json::object o;
    o["version"] = 1;
    json::object sc;
    for (const auto& [k, v] : w.status_confidence) sc[k] = v;
    o["statusConfidence"] = std::move(sc);
    json::object fd;
    for (const auto& [status, features] : w.feature_deltas) {
        json::object inner;
        for (const auto& [f, d] : features) inner[f] = d;
        fd[status] = std::move(inner);
    }
    o["featureDeltas"] = std::move(fd);
    json::object ops;
    for (const auto& [type, s] : w.operations) {
        ops[type] = {{"applied", s.applied},
                     {"failed", s.failed},
                     {"approved", s.approved},
                     {"rejected", s.rejected},
                     {"overridden", s.overridden},
                     {"approvalsSinceRejection", s.approvals_since_rejection},
                     {"forceReview", s.force_review}};
    }
    o["operations"] = std::move(ops);
    json::object st;
    for (const auto& [status, s] : w.statuses) {
        st[status] = {{"outcomes", s.outcomes},
                      {"positive", s.positive},
                      {"negative", s.negative},
                      {"badClassifications", s.bad_classifications},
                      {"valueSum", s.value_sum}};
    }
    o["statuses"] = std::move(st);
    json::object corr;
    for (const auto& [k, v] : w.corrections) corr[k] = v;
    o["corrections"] = std::move(corr);
    json::object sig;
    for (const auto& [k, v] : w.signals) sig[k] = v;
    o["signals"] = std::move(sig);
    o["outcomes"] = w.outcomes;
    o["spamComplaints"] = w.spam_complaints;
    o["revenueCents"] = w.revenue_cents;
    return o;
}

namespace {

struct Reader {
    std::string error;

    const json::object* object(const json::object& o, std::string_view key) {
        auto* v = o.if_contains(key);
        if (!v) return nullptr;
        if (!v->is_object()) error = std::string(key) + " must be an object";
        return v->if_object();
    }
    double number(const json::value& v, std::string_view what) {
        if (v.is_double()) return v.get_double();
        if (v.is_int64()) return double(v.get_int64());
        if (v.is_uint64()) return double(v.get_uint64());
        error = std::string(what) + " must be a number";
        return 0;
    }
    std::int64_t integer(const json::object& o, std::string_view key) {
        auto* v = o.if_contains(key);
        if (!v) return 0;
        if (v->is_int64()) return v->get_int64();
        if (v->is_uint64() && v->get_uint64() <= INT64_MAX) return std::int64_t(v->get_uint64());
        error = std::string(key) + " must be an integer";
        return 0;
    }
    int small(const json::object& o, std::string_view key) {
        auto v = integer(o, key);
        if (v < 0 || v > INT32_MAX) error = std::string(key) + " out of range";
        return static_cast<int>(std::clamp<std::int64_t>(v, 0, INT32_MAX));
    }
};

}  // namespace

Result<TenantWeights> weights_from_json(const json::value& v) {
    const auto* o = v.if_object();
    if (!o) return fail(Errc::invalid_argument, "tenant weights must be a JSON object");
    TenantWeights w;
    Reader r;
    if (auto* sc = r.object(*o, "statusConfidence"))
        for (const auto& [k, d] : *sc)
            w.status_confidence[k] = std::clamp(r.number(d, "statusConfidence"),
                                                kMinConfidenceDelta, kMaxConfidenceDelta);
    if (auto* fd = r.object(*o, "featureDeltas")) {
        for (const auto& [status, inner] : *fd) {
            const auto* io = inner.if_object();
            if (!io) {
                r.error = "featureDeltas entries must be objects";
                break;
            }
            for (const auto& [f, d] : *io)
                w.feature_deltas[status][f] =
                    std::clamp(r.number(d, "featureDeltas"), kMinFeatureDelta, kMaxFeatureDelta);
        }
    }
    if (auto* ops = r.object(*o, "operations")) {
        for (const auto& [type, sv] : *ops) {
            const auto* so = sv.if_object();
            if (!so) {
                r.error = "operations entries must be objects";
                break;
            }
            OperationStats s;
            s.applied = r.small(*so, "applied");
            s.failed = r.small(*so, "failed");
            s.approved = r.small(*so, "approved");
            s.rejected = r.small(*so, "rejected");
            s.overridden = r.small(*so, "overridden");
            s.approvals_since_rejection = r.small(*so, "approvalsSinceRejection");
            if (auto* fr = so->if_contains("forceReview")) {
                if (!fr->is_bool()) r.error = "forceReview must be a boolean";
                s.force_review = fr->is_bool() && fr->get_bool();
            }
            w.operations[type] = s;
        }
    }
    if (auto* st = r.object(*o, "statuses")) {
        for (const auto& [status, sv] : *st) {
            const auto* so = sv.if_object();
            if (!so) {
                r.error = "statuses entries must be objects";
                break;
            }
            StatusStats s;
            s.outcomes = r.small(*so, "outcomes");
            s.positive = r.small(*so, "positive");
            s.negative = r.small(*so, "negative");
            s.bad_classifications = r.small(*so, "badClassifications");
            s.value_sum = r.integer(*so, "valueSum");
            w.statuses[status] = s;
        }
    }
    for (auto [key, target] : {std::pair{"corrections", &w.corrections}, {"signals", &w.signals}})
        if (auto* m = r.object(*o, key))
            for (const auto& [k, n] : *m) (*target)[k] = static_cast<int>(r.number(n, key));
    w.outcomes = r.small(*o, "outcomes");
    w.spam_complaints = r.small(*o, "spamComplaints");
    w.revenue_cents = r.integer(*o, "revenueCents");
    if (!r.error.empty()) return fail(Errc::invalid_argument, "tenant weights: " + r.error);
    return w;
}

}  // namespace postern::connex
