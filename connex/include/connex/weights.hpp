#pragma once
// TenantWeights: what one tenant's outcomes have taught the evaluator (docs/connex-evaluator.md,
// "Learning"). A plain value: apid loads it from storage, passes it to evaluate_*, updates it with
// apply_outcome() and stores it back as JSON. Not synchronised; the owner serialises updates.
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "connex/taxonomy.hpp"

namespace postern::connex {

// Bounds keep learned adjustments from swamping the rules.
inline constexpr double kMinConfidenceDelta = -0.5;
inline constexpr double kMaxConfidenceDelta = 0.1;
inline constexpr double kMinFeatureDelta = -0.9;  // feature weight × (1 + delta)
inline constexpr double kMaxFeatureDelta = 0.5;
inline constexpr int kMaxFitDelta = 20;

struct OperationStats {
    int applied = 0;
    int failed = 0;
    int approved = 0;
    int rejected = 0;
    int overridden = 0;
    int approvals_since_rejection = 0;
    bool force_review = false;  // autoApply → humanReview for this operation type
};

struct StatusStats {
    int outcomes = 0;
    int positive = 0;
    int negative = 0;
    int bad_classifications = 0;
    std::int64_t value_sum = 0;  // sum of valueScore over outcomes tied to this status
};

struct TenantWeights {
    template <class V>
    using Map = std::map<std::string, V, std::less<>>;

    Map<double> status_confidence;    // status → additive confidence delta
    Map<Map<double>> feature_deltas;  // status → feature pattern → weight delta
    Map<OperationStats> operations;   // operation type → stats and review flag
    Map<StatusStats> statuses;        // status → outcome stats (fitScore, insights)
    Map<int> corrections;             // "predicted>correct" → count (bad_classification)
    Map<int> signals;                 // learningSignal → count
    int outcomes = 0;
    int spam_complaints = 0;
    std::int64_t revenue_cents = 0;

    double confidence_delta(Status s) const;
    double feature_multiplier(Status s, std::string_view feature) const;
    bool forces_review(std::string_view operation_type) const;
    int fit_delta(Status s) const;  // round(mean valueScore / 5), within ±kMaxFitDelta
    bool empty() const { return outcomes == 0; }
};

boost::json::object to_json(const TenantWeights& w);
// Strict about types so that a corrupted row is noticed rather than half-read.
[[nodiscard]] Result<TenantWeights> weights_from_json(const boost::json::value& v);

}  // namespace postern::connex
