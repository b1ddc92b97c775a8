#include "connex/insights.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <map>

#include "connex/taxonomy.hpp"

namespace postern::connex {
namespace json = boost::json;
namespace {

int percent(int part, int whole) {
    return whole > 0 ? static_cast<int>(std::lround(100.0 * part / whole)) : 0;
}

int signal_count(const TenantWeights& w, std::string_view s) {
    auto it = w.signals.find(s);
    return it == w.signals.end() ? 0 : it->second;
}

std::string recommendation(const InsightsCounts& c, const TenantWeights& w) {
    if (w.spam_complaints > 0)
        return "Spam complaints were reported: review list sources and keep outbound drafts under "
               "human review.";
    if (signal_count(w, "negative_classification_signal") >= 3)
        return "Several classifications were reported wrong: map your workflow statuses "
               "explicitly and report bad_classification with payload.correctStatus.";
    if (signal_count(w, "human_override_signal") >= 3)
        return "Humans often reject or override operations: the affected operation types now wait "
               "for review until approved three times in a row.";
    if (c.events > 0 && c.outcomes == 0)
        return "Report outcomes with /api/connex/integration-outcome so evaluations learn from "
               "what happened.";
    return "Keep reporting outcomes; evaluations adapt per tenant as they arrive.";
}

}  // namespace

json::object build_insights(std::string_view tenant_id, const json::object& filters,
                            const InsightsCounts& c, const TenantWeights& w) {
    // byStatus: every status seen in events or outcomes, in taxonomy order.
    std::map<std::string, int, std::less<>> events_by_status(c.events_by_status.begin(),
                                                             c.events_by_status.end());
    json::array by_status;
    for (const auto& row : all_statuses()) {
        auto ev = events_by_status.find(row.name);
        auto st = w.statuses.find(row.name);
        if (ev == events_by_status.end() && st == w.statuses.end()) continue;
        StatusStats s = st == w.statuses.end() ? StatusStats{} : st->second;
        by_status.push_back({{"status", row.name},
                             {"events", ev == events_by_status.end() ? 0 : ev->second},
                             {"outcomes", s.outcomes},
                             {"positive", s.positive},
                             {"negative", s.negative},
                             {"badClassifications", s.bad_classifications},
                             {"confidenceAdjustment", w.confidence_delta(row.status)},
                             {"fitScoreAdjustment", w.fit_delta(row.status)}});
    }
    json::array by_outcome;
    for (const auto& [signal, n] : w.signals)
        by_outcome.push_back({{"learningSignal", signal}, {"count", n}});
    json::array transitions;
    for (const auto& t : c.recent_transitions)
        transitions.push_back({{"from", t.from},
                               {"to", t.to},
                               {"canonicalStatus", t.canonical_status},
                               {"at", t.at}});
    json::array under_review;
    for (const auto& [type, s] : w.operations)
        if (s.force_review) under_review.emplace_back(type);
    json::object corrections;
    for (const auto& [k, n] : w.corrections) corrections[k] = n;

    return {
        {"ok", true},
        {"type", "connex.integration.insights.result"},
        {"tenantId", tenant_id},
        {"filters", filters},
        {"summary",
         {{"events", c.events},
          {"operations", c.operations},
          {"outcomes", c.outcomes},
          {"approvalRate", percent(c.operations_human_review, c.operations)},
          {"blockedRate", percent(c.operations_blocked, c.operations)},
          {"appliedRate", percent(c.operations_applied, c.operations)},
          {"avgValueScore",
           c.outcomes > 0 ? static_cast<int>(std::lround(double(c.value_score_sum) / c.outcomes))
                          : 0},
          {"negativeOutcomes", c.negative_outcomes},
          {"reasoningEvents", c.reasoning_events}}},
        {"byStatus", std::move(by_status)},
        {"byOutcome", std::move(by_outcome)},
        {"byReasoningProvider",
         {{{"provider", "deterministic"}, {"events", c.events - c.reasoning_events}},
          {{"provider", "mundox"}, {"events", c.reasoning_events}}}},
        {"recentStatusTransitions", std::move(transitions)},
        {"learning",
         {{"operationsUnderReview", std::move(under_review)},
          {"corrections", std::move(corrections)},
          {"spamComplaints", w.spam_complaints}}},
        {"recommendation", recommendation(c, w)},
        {"guarantees",
         {"summary only: no message bodies or draft text", "scoped to the calling tenant",
          "learned adjustments are this tenant's own"}}};
}

json::object build_trust(std::string_view tenant_id, const TrustInputs& in,
                         const TenantWeights& w) {
    int positive =
        signal_count(w, "positive_operation_signal") + signal_count(w, "positive_outcome_signal");
    int overrides = signal_count(w, "human_override_signal");
    int bad = signal_count(w, "negative_classification_signal");
    int failures = signal_count(w, "integration_failure_signal");
    int score = 50 + (in.verified_domain ? 15 : 0) + std::min(20, positive * 2) +
                std::min(5, in.events / 100) - std::min(45, w.spam_complaints * 15) -
                std::min(20, overrides * 3) - std::min(15, bad * 2) - std::min(10, failures);
    score = std::clamp(score, 0, 100);
    std::string_view band = score >= 85   ? "high_trust"
                            : score >= 70 ? "trusted"
                            : score >= 40 ? "emerging"
                                          : "restricted";
    std::string_view advice =
        score >= 85   ? "Trusted for network dispatch; high-risk actions still need approval."
        : score >= 70 ? "Trusted; keep reporting outcomes to reach high trust."
        : score >= 40 ? "Emerging: verify a sending domain and report outcomes; network dispatch "
                        "stays restricted below 70."
                      : "Restricted: resolve complaints and overrides before outbound use.";
    return {{"ok", true},
            {"type", "connex.trust.result"},
            {"tenantId", tenant_id},
            {"score", score},
            {"band", band},
            {"policyGates",
             {{"liveOutboundRequiresVerifiedDomain", true},
              {"highRiskActionsRequireApproval", true},
              {"modelGuidanceCannotAutoSend", true},
              {"complaintPausesOutbound", true},
              {"trustBelow70RestrictsNetworkDispatch", true}}},
            {"signals",
             {{"verifiedDomain", in.verified_domain},
              {"events", in.events},
              {"outcomes", w.outcomes},
              {"positiveSignals", positive},
              {"humanOverrides", overrides},
              {"badClassifications", bad},
              {"integrationFailures", failures},
              {"spamComplaints", w.spam_complaints},
              {"outboundPaused", w.spam_complaints > 0},
              {"networkDispatchRestricted", score < 70}}},
            {"recommendation", advice},
            {"guarantees",
             {"no message content is used", "scores are tenant-scoped",
              "model guidance can never auto-send"}}};
}

}  // namespace postern::connex
