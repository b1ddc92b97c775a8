#include "connex/outcome.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <initializer_list>

#include "connex/validate.hpp"

namespace postern::connex {
namespace json = boost::json;
namespace {

constexpr std::array<std::string_view, 12> kOutcomeNames{
    "operation_applied", "operation_failed",   "human_approved", "human_rejected",
    "reply_sent",        "meeting_booked",     "deal_advanced",  "deal_won",
    "deal_lost",         "bad_classification", "spam_complaint", "manual_override"};

constexpr std::array<std::string_view, 8> kSignalNames{
    "positive_operation_signal",  "positive_outcome_signal", "negative_classification_signal",
    "deliverability_risk_signal", "human_override_signal",   "integration_failure_signal",
    "negative_outcome_signal",    "neutral_outcome_signal"};

std::string_view str(const json::object& o, std::string_view key) {
    auto* v = o.if_contains(key);
    return v && v->is_string() ? std::string_view(v->get_string()) : std::string_view{};
}

std::int64_t integer(const json::object& o, std::string_view key) {
    return json_integer(o.if_contains(key)).value_or(0);
}

class Adjuster {
 public:
    Adjuster(TenantWeights& w, LearningResult& r) : w_(w), r_(r) {}

    void confidence(Status s, double delta) {
        auto& v = w_.status_confidence[std::string(name(s))];
        double before = v;
        v = std::clamp(v + delta, kMinConfidenceDelta, kMaxConfidenceDelta);
        if (v != before)
            r_.changes.push_back(
                fmt::format("statusConfidence.{} {:+.2f} -> {:+.2f}", name(s), before, v));
    }
    void feature(Status s, const std::string& f, double delta) {
        auto& v = w_.feature_deltas[std::string(name(s))][f];
        double before = v;
        v = std::clamp(v + delta, kMinFeatureDelta, kMaxFeatureDelta);
        if (v != before)
            r_.changes.push_back(
                fmt::format("featureDeltas.{}[\"{}\"] {:+.2f} -> {:+.2f}", name(s), f, before, v));
    }
    void review(const std::string& type, bool on) {
        auto& op = w_.operations[type];
        if (op.force_review == on) return;
        op.force_review = on;
        r_.changes.push_back(fmt::format("operations.{}.forceReview -> {}", type, on));
    }

 private:
    TenantWeights& w_;
    LearningResult& r_;
};

}  // namespace

std::optional<OutcomeType> parse_outcome_type(std::string_view s) {
    for (std::size_t i = 0; i < kOutcomeNames.size(); ++i)
        if (kOutcomeNames[i] == s) return static_cast<OutcomeType>(i);
    return std::nullopt;
}

std::string_view name(OutcomeType t) { return kOutcomeNames[static_cast<std::size_t>(t)]; }
std::string_view name(LearningSignal s) { return kSignalNames[static_cast<std::size_t>(s)]; }

LearningSignal learning_signal(OutcomeType t, int value_score) {
    using enum OutcomeType;
    switch (t) {
        case operation_applied:
        case human_approved:
        case reply_sent:
            return LearningSignal::positive_operation_signal;
        case meeting_booked:
        case deal_advanced:
        case deal_won:
            return value_score < 0 ? LearningSignal::neutral_outcome_signal
                                   : LearningSignal::positive_outcome_signal;
        case deal_lost:
            return value_score > 0 ? LearningSignal::neutral_outcome_signal
                                   : LearningSignal::negative_outcome_signal;
        case bad_classification:
            return LearningSignal::negative_classification_signal;
        case spam_complaint:
            return LearningSignal::deliverability_risk_signal;
        case human_rejected:
        case manual_override:
            return LearningSignal::human_override_signal;
        case operation_failed:
            return LearningSignal::integration_failure_signal;
    }
    return LearningSignal::neutral_outcome_signal;
}

OutcomeFacts facts_from_result(const json::object& stored, std::string_view operation_id) {
    OutcomeFacts f;
    const json::object* status_resp = &stored;
    if (auto* s = stored.if_contains("status"); s && s->is_object()) status_resp = &s->get_object();
    if (auto* c = status_resp->if_contains("canonical"); c && c->is_object())
        f.status = parse_status(str(c->get_object(), "status"));
    const json::value* reasoning = stored.if_contains("reasoning");
    if (!reasoning) reasoning = status_resp->if_contains("reasoning");
    if (f.status && reasoning && reasoning->is_object()) {
        if (auto* sig = reasoning->get_object().if_contains("signals"); sig && sig->is_array()) {
            for (const auto& item : sig->get_array()) {
                const auto* io = item.if_object();
                auto* wv = io ? io->if_contains("weight") : nullptr;
                bool positive = wv && ((wv->is_double() && wv->get_double() > 0) ||
                                       (wv->is_int64() && wv->get_int64() > 0));
                if (positive && str(*io, "status") == name(*f.status) &&
                    !str(*io, "signal").empty())
                    f.signals.emplace_back(str(*io, "signal"));
            }
        }
    }
    if (auto* ops = status_resp->if_contains("operations");
        ops && ops->is_array() && !operation_id.empty()) {
        for (const auto& op : ops->get_array()) {
            const auto* oo = op.if_object();
            if (oo && str(*oo, "id") == operation_id) {
                f.operation_matched = true;
                f.operation_type = std::string(str(*oo, "type"));
                break;
            }
        }
    }
    return f;
}

LearningResult apply_outcome(TenantWeights& w, const json::object& req, const OutcomeFacts& facts) {
    using enum OutcomeType;
    auto type = parse_outcome_type(str(req, "outcomeType")).value_or(operation_applied);
    int value = static_cast<int>(std::clamp<std::int64_t>(integer(req, "valueScore"), -100, 100));
    LearningResult r{learning_signal(type, value), std::nullopt, {}};
    Adjuster adj(w, r);

    ++w.outcomes;
    ++w.signals[std::string(name(r.signal))];
    if (auto cents = integer(req, "revenueCents"); cents > 0) w.revenue_cents += cents;
    if (facts.status) {
        auto& st = w.statuses[std::string(name(*facts.status))];
        ++st.outcomes;
        st.value_sum += value;
        switch (r.signal) {
            case LearningSignal::positive_operation_signal:
            case LearningSignal::positive_outcome_signal:
                ++st.positive;
                break;
            case LearningSignal::neutral_outcome_signal:
            case LearningSignal::integration_failure_signal:
                break;
            default:
                ++st.negative;
                break;
        }
    }
    OperationStats* op = nullptr;
    if (facts.operation_type && !facts.operation_type->empty())
        op = &w.operations[*facts.operation_type];

    switch (type) {
        case bad_classification:
            if (facts.status) {
                ++w.statuses[std::string(name(*facts.status))].bad_classifications;
                adj.confidence(*facts.status, -0.10);
                for (const auto& f : facts.signals) adj.feature(*facts.status, f, -0.25);
                const json::object* payload = nullptr;
                if (auto* p = req.if_contains("payload")) payload = p->if_object();
                if (payload) {
                    auto correct = str(*payload, "correctStatus");
                    if (correct.empty()) correct = str(*payload, "expectedStatus");
                    if (auto c = parse_status(correct); c && *c != *facts.status)
                        ++w.corrections[std::string(name(*facts.status)) + ">" +
                                        std::string(name(*c))];
                }
            }
            break;
        case human_rejected:
        case manual_override:
            if (op) {
                ++(type == human_rejected ? op->rejected : op->overridden);
                op->approvals_since_rejection = 0;
                adj.review(*facts.operation_type, true);
            }
            if (facts.status) adj.confidence(*facts.status, type == human_rejected ? -0.02 : -0.05);
            break;
        case human_approved:
            if (op) {
                ++op->approved;
                if (op->force_review && ++op->approvals_since_rejection >= 3)
                    adj.review(*facts.operation_type, false);
            }
            if (facts.status) adj.confidence(*facts.status, 0.01);
            break;
        case operation_applied:
        case reply_sent:
            if (op) ++op->applied;
            if (facts.status) adj.confidence(*facts.status, 0.01);
            break;
        case operation_failed:
            if (op) ++op->failed;
            break;
        case meeting_booked:
        case deal_advanced:
        case deal_won:
            if (facts.status && r.signal == LearningSignal::positive_outcome_signal)
                adj.confidence(*facts.status, 0.02);
            break;
        case deal_lost:
            break;  // value_sum above moves fitScore for the status
        case spam_complaint:
            ++w.spam_complaints;
            adj.review("draft_reply", true);
            if (op) adj.review(*facts.operation_type, true);
            break;
    }

    if (facts.operation_matched) {
        switch (type) {
            case operation_applied:
            case reply_sent:
                r.applied_status = "applied";
                break;
            case operation_failed:
                r.applied_status = "failed";
                break;
            case human_approved:
                r.applied_status = "approved";
                break;
            case human_rejected:
                r.applied_status = "rejected";
                break;
            case manual_override:
                r.applied_status = "skipped";
                break;
            default:
                break;
        }
    }
    return r;
}

std::optional<std::string> ledger_refusal(std::string_view bucket, std::string_view from,
                                          std::string_view to) {
    auto in = [](std::string_view s, std::initializer_list<std::string_view> set) {
        return std::find(set.begin(), set.end(), s) != set.end();
    };
    if (from == to) return std::nullopt;
    if (in(from, {"applied", "failed", "rejected", "skipped"}))
        return fmt::format("the operation is already {}", from);
    if (from == "approved" && !in(to, {"applied", "failed", "skipped"}))
        return fmt::format(
            "the operation was approved: it can be applied, fail or be skipped, "
            "not become {}",
            to);
    if (bucket == "blocked" && !in(to, {"rejected", "skipped"}))
        return fmt::format("the operation is blocked: it can be rejected or skipped, not become {}",
                           to);
    if (bucket == "humanReview" && from == "recommended" && to == "applied")
        return std::string(
            "the operation needs a human's approval first (a human_approved outcome)");
    return std::nullopt;
}

json::object outcome_response(std::string_view tenant_id, std::string_view outcome_id,
                              bool persisted, const json::object& req, const LearningResult& r,
                              const OutcomeFacts& facts) {
    json::value requested = nullptr;
    if (auto id = str(req, "operationId"); !id.empty()) requested = id;
    json::value applied = nullptr;
    if (r.applied_status) applied = *r.applied_status;
    json::array changes;
    for (const auto& c : r.changes) changes.emplace_back(c);
    json::object persistence{{"persisted", persisted},
                             {"outcomeId", outcome_id},
                             {"learningSignal", name(r.signal)},
                             {"operation",
                              {{"requestedOperationId", requested},
                               {"matched", facts.operation_matched},
                               {"appliedStatus", applied}}}};
    return {{"ok", true},
            {"tenantId", tenant_id},
            {"persistence", std::move(persistence)},
            {"learning",
             {{"signal", name(r.signal)},
              {"operationMatched", facts.operation_matched},
              {"operationAppliedStatus", applied},
              {"adjustments", std::move(changes)}}}};
}

}  // namespace postern::connex
