#pragma once
// Builders for IntegrationInsightsResponse and TrustResponse (seeds/003). Counts that live in
// storage (events, operations, transitions) come in as plain structs; what outcomes taught the
// evaluator comes from TenantWeights, so learning is visible in insights. Pure.
#include <boost/json/object.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "connex/weights.hpp"

namespace postern::connex {

struct StatusTransition {
    std::string from, to, canonical_status, at;  // `at` is RFC 3339, formatted by the caller
};

// Aggregates apid reads from its tables for the tenant (and the request's filters).
struct InsightsCounts {
    int events = 0;
    int operations = 0;
    int operations_human_review = 0;
    int operations_blocked = 0;
    int operations_applied = 0;
    int outcomes = 0;
    int negative_outcomes = 0;
    std::int64_t value_score_sum = 0;
    int reasoning_events = 0;  // events evaluated with a live model (0 while deterministic only)
    std::vector<std::pair<std::string, int>> events_by_status;  // canonical status → count
    std::vector<StatusTransition> recent_transitions;           // newest first, ≤ limit
};

boost::json::object build_insights(std::string_view tenant_id, const boost::json::object& filters,
                                   const InsightsCounts& counts, const TenantWeights& weights);

struct TrustInputs {
    bool verified_domain = false;  // the tenant has at least one verified sending domain
    int events = 0;                // evaluations so far
};

// Score 0..100 from outcomes (see docs/connex-evaluator.md, "Trust"); band from the score.
boost::json::object build_trust(std::string_view tenant_id, const TrustInputs& in,
                                const TenantWeights& weights);

}  // namespace postern::connex
