// Outcome learning: the contract's signal mapping, and the effect of outcomes on later
// evaluations, insights and trust (docs/connex-evaluator.md, "Learning").
#include <algorithm>
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <set>

#include "connex/evaluator.hpp"
#include "connex/insights.hpp"
#include "connex/outcome.hpp"
#include "connex/validate.hpp"

namespace json = boost::json;
using namespace postern::connex;

namespace {

json::object pricing_request() {
    return {
        {"app", "saas"},
        {"message",
         {{"subject", "Pricing"}, {"body", "Hi, what does the Pro plan cost for a team of 25?"}}}};
}

json::object outcome(std::string_view type, int value = 0, std::string_view op_id = "") {
    json::object o{{"sourceSystem", "saas"},
                   {"sourceOutcomeId", "o1"},
                   {"outcomeType", type},
                   {"valueScore", value}};
    if (!op_id.empty()) o["operationId"] = op_id;
    return o;
}

EvalContext ctx() {
    EvalContext c;
    c.tenant_id = "ten_1";
    return c;
}

std::string bucket_of(const json::object& event, std::string_view type) {
    for (const auto& [bucket, ops] : event.at("operationBuckets").as_object())
        for (const auto& op : ops.as_array())
            if (op.at("type").as_string() == type) return std::string(bucket);
    return "";
}

std::string op_id(const json::object& event, std::string_view type) {
    for (const auto& op : event.at("status").at("operations").as_array())
        if (op.at("type").as_string() == type) return std::string(op.at("id").as_string());
    return "";
}

}  // namespace

TEST_CASE("outcome types map onto the contract's learning signals", "[connex][learning]") {
    using enum OutcomeType;
    using S = LearningSignal;
    struct Row {
        OutcomeType t;
        int value;
        S want;
    };
    for (auto [t, value, want] : {Row{operation_applied, 10, S::positive_operation_signal},
                                  Row{human_approved, 0, S::positive_operation_signal},
                                  Row{reply_sent, 5, S::positive_operation_signal},
                                  Row{meeting_booked, 30, S::positive_outcome_signal},
                                  Row{deal_advanced, 0, S::positive_outcome_signal},
                                  Row{deal_won, 90, S::positive_outcome_signal},
                                  Row{deal_won, -20, S::neutral_outcome_signal},
                                  Row{deal_lost, -50, S::negative_outcome_signal},
                                  Row{deal_lost, 10, S::neutral_outcome_signal},
                                  Row{bad_classification, -10, S::negative_classification_signal},
                                  Row{spam_complaint, -80, S::deliverability_risk_signal},
                                  Row{human_rejected, -5, S::human_override_signal},
                                  Row{manual_override, 0, S::human_override_signal},
                                  Row{operation_failed, 0, S::integration_failure_signal}}) {
        INFO(name(t) << " " << value);
        CHECK(learning_signal(t, value) == want);
        CHECK(parse_outcome_type(name(t)) == t);
    }
    CHECK_FALSE(parse_outcome_type("deal_maybe"));
}

TEST_CASE("bad_classification lowers confidence for that status and its signals",
          "[connex][learning]") {
    TenantWeights w;
    auto first = evaluate_event(pricing_request(), w, ctx());
    double before = first.at("status").at("canonical").at("confidence").as_double();
    REQUIRE(first.at("status").at("canonical").at("status") == "pricing_question");

    auto facts = facts_from_result(first, "");
    REQUIRE(facts.status == Status::pricing_question);
    REQUIRE(!facts.signals.empty());
    auto req = outcome("bad_classification", -20);
    req["payload"] = {{"correctStatus", "question"}};
    REQUIRE(validate_outcome_request(req).empty());
    auto res = apply_outcome(w, req, facts);
    CHECK(res.signal == LearningSignal::negative_classification_signal);
    CHECK(!res.changes.empty());
    CHECK(w.corrections.at("pricing_question>question") == 1);

    auto second = evaluate_event(pricing_request(), w, ctx());
    double after = second.at("status").at("canonical").at("confidence").as_double();
    CHECK(after < before - 0.099);
    CHECK(second.at("reasoning").at("ruleConfidence").as_double() <=
          first.at("reasoning").at("ruleConfidence").as_double());
    // Another pricing question with the same pattern scores lower too.
    CHECK(second.at("reasoning").at("scores").at("pricing_question").as_double() <
          first.at("reasoning").at("scores").at("pricing_question").as_double());

    auto insights = build_insights("ten_1", {}, {}, w);
    bool seen = false;
    for (const auto& row : insights.at("byStatus").as_array()) {
        if (row.at("status") != "pricing_question") continue;
        seen = true;
        CHECK(row.at("badClassifications") == 1);
        CHECK(row.at("confidenceAdjustment").as_double() < 0);
    }
    CHECK(seen);
}

TEST_CASE("human_rejected moves that operation to humanReview until approved again",
          "[connex][learning]") {
    TenantWeights w;
    auto first = evaluate_event(pricing_request(), w, ctx());
    REQUIRE(bucket_of(first, "create_task") == "autoApply");
    auto id = op_id(first, "create_task");
    auto facts = facts_from_result(first, id);
    REQUIRE(facts.operation_matched);
    REQUIRE(facts.operation_type == "create_task");

    auto req = outcome("human_rejected", -10, id);
    auto res = apply_outcome(w, req, facts);
    CHECK(res.applied_status == "rejected");
    auto resp = outcome_response("ten_1", "oc_1", true, req, res, facts);
    CHECK(resp.at("persistence").at("operation").at("appliedStatus") == "rejected");
    CHECK(resp.at("learning").at("operationMatched") == true);

    auto second = evaluate_event(pricing_request(), w, ctx());
    CHECK(bucket_of(second, "create_task") == "humanReview");
    CHECK(bucket_of(second, "route_inbox") == "autoApply");  // only that operation type

    for (int i = 0; i < 2; ++i) apply_outcome(w, outcome("human_approved", 5, id), facts);
    CHECK(bucket_of(evaluate_event(pricing_request(), w, ctx()), "create_task") == "humanReview");
    apply_outcome(w, outcome("human_approved", 5, id), facts);
    CHECK(bucket_of(evaluate_event(pricing_request(), w, ctx()), "create_task") == "autoApply");
}

TEST_CASE("spam complaints pause drafts and lower trust", "[connex][learning]") {
    TenantWeights w;
    auto trust_before =
        build_trust("ten_1", {.verified_domain = true, .events = 0}, w).at("score").as_int64();
    auto first = evaluate_event(pricing_request(), w, ctx());
    REQUIRE(bucket_of(first, "draft_reply") == "drafts");
    apply_outcome(w, outcome("spam_complaint", -90), facts_from_result(first, ""));
    auto second = evaluate_event(pricing_request(), w, ctx());
    CHECK(bucket_of(second, "draft_reply") == "humanReview");
    CHECK(!second.at("status").at("integration").at("warnings").as_array().empty());
    auto trust = build_trust("ten_1", {.verified_domain = true, .events = 0}, w);
    CHECK(trust.at("score").as_int64() < trust_before);
    CHECK(trust.at("signals").at("outboundPaused") == true);
}

TEST_CASE("value scores move the status's fitScore", "[connex][learning]") {
    TenantWeights w;
    auto first = evaluate_event(pricing_request(), w, ctx());
    auto facts = facts_from_result(first, "");
    for (int i = 0; i < 4; ++i) apply_outcome(w, outcome("deal_won", 100), facts);
    auto fit0 = first.at("status").at("canonical").at("fitScore").as_int64();
    auto fit1 = evaluate_event(pricing_request(), w, ctx())
                    .at("status")
                    .at("canonical")
                    .at("fitScore")
                    .as_int64();
    CHECK(fit1 == fit0 + 20);
}

TEST_CASE("tenant weights round-trip through JSON and reject bad rows", "[connex][learning]") {
    TenantWeights w;
    auto first = evaluate_event(pricing_request(), w, ctx());
    auto id = op_id(first, "create_task");
    auto facts = facts_from_result(first, id);
    apply_outcome(w, outcome("bad_classification", -10), facts);
    apply_outcome(w, outcome("human_rejected", -10, id), facts);
    auto r = outcome("deal_won", 80);
    r["revenueCents"] = 125000;
    apply_outcome(w, r, facts);
    auto j = to_json(w);
    auto back = weights_from_json(json::parse(json::serialize(j)));
    REQUIRE(back);
    CHECK(json::serialize(to_json(*back)) == json::serialize(j));
    CHECK(back->forces_review("create_task"));
    CHECK(back->revenue_cents == 125000);

    CHECK_FALSE(weights_from_json(json::value("x")));
    CHECK_FALSE(
        weights_from_json(json::parse(R"({"operations": {"create_task": {"forceReview": 1}}})")));
    CHECK_FALSE(weights_from_json(json::parse(R"({"statusConfidence": {"question": "high"}})")));
    auto clamped = weights_from_json(json::parse(R"({"statusConfidence": {"question": -7}})"));
    REQUIRE(clamped);
    CHECK(clamped->confidence_delta(Status::question) == kMinConfidenceDelta);
}

TEST_CASE("unmatched outcomes still count but change no operation", "[connex][learning]") {
    TenantWeights w;
    auto req = outcome("operation_applied", 10, "op_missing");
    OutcomeFacts none;
    auto res = apply_outcome(w, req, none);
    CHECK(res.signal == LearningSignal::positive_operation_signal);
    CHECK_FALSE(res.applied_status);
    auto resp = outcome_response("ten_1", "oc_2", true, req, res, none);
    CHECK(resp.at("persistence").at("operation").at("requestedOperationId") == "op_missing");
    CHECK(resp.at("persistence").at("operation").at("matched") == false);
    CHECK(resp.at("persistence").at("operation").at("appliedStatus").is_null());
    CHECK(w.outcomes == 1);
}
