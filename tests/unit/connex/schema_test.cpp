// Every engine output validates against the seed OpenAPI schemas
// (tests/data/connex/openapi.json, a copy of shared/seeds/003_f1eb9a4f13f4641a.openapi.json),
// over the whole labelled corpus in several request shapes. With CONNEX_SAMPLE_DIR set, one
// sample of each response is written there for an external validator (ajv, python-jsonschema).
#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <set>

#include "connex/evaluator.hpp"
#include "connex/insights.hpp"
#include "connex/outcome.hpp"
#include "connex/validate.hpp"
#include "schema_check.hpp"

namespace json = boost::json;
using namespace postern::connex;
using connex_test::SchemaChecker;

namespace {

std::vector<json::object> corpus_messages() {
    std::ifstream in(connex_test::data_dir() / "labelled.jsonl");
    std::vector<json::object> out;
    std::string line;
    while (std::getline(in, line))
        if (!line.empty()) out.push_back(json::parse(line).as_object());
    return out;
}

// Five request shapes, chosen by index, so that every message meets every branch eventually.
json::object make_request(const json::object& m, std::size_t i) {
    json::object msg{{"subject", m.at("subject")}, {"body", m.at("body")}};
    if (auto* f = m.if_contains("from"))
        msg["from"] = *f;
    else
        msg["from"] = "Pat Jones <pat@example.com>";
    json::object r{{"app", "buyboxclub"}, {"message", std::move(msg)}};
    switch (i % 5) {
        case 0:
            break;
        case 1:
            r["currentStatus"] = "LOI Sent";
            r["externalIds"] = {
                {"objectType", "opportunity"}, {"objectId", "opp_123"}, {"messageId", "m1"}};
            r["workflow"] = json::parse(R"({
                "statuses": ["New", "LOI Sent", "Needs POF", "Under Contract", "Dead"],
                "inboxes": ["Sales", "Human Approval", "Compliance"],
                "transitions": {"LOI Sent": ["Needs POF", "Under Contract", "Dead"]},
                "canonicalMappings": {"proof_of_funds_requested": "Needs POF",
                                      "not_interested": {"status": "Dead", "inbox": "Sales"}}})");
            break;
        case 2:
            r["eventType"] = "inbound_reply";
            r["sourceSystem"] = "buyboxclub";
            r["sourceEventId"] = "evt_" + std::to_string(i);
            r["applyMode"] = "materialize_safe";
            r["sourceMailbox"] = {{"senderIdentityOwner", "source_app"},
                                  {"replyPolicy", "source_app_only"},
                                  {"externalReplyUrl", "https://app.example/thread/1"}};
            break;
        case 3:
            r["sourceMailbox"] = {{"senderIdentityOwner", "customer_domain"},
                                  {"replyPolicy", "disabled"}};
            r["actor"] = {{"id", "agent_7"}, {"type", "agent"}, {"label", "Acquisitions agent"}};
            r["object"] = {{"id", "deal_9"}, {"type", "deal"}};
            break;
        case 4:
            r["applyMode"] = "materialize_safe";
            r["context"] = {
                {"market", "Tampa"}, {"askingPrice", 210000}, {"arv", 320000}, {"repairs", 25000}};
            r["eventType"] = "outbound_sent";
            break;
    }
    return r;
}

void require_valid(const SchemaChecker& sc, const json::value& v, std::string_view schema) {
    auto errors = sc.check(v, schema);
    INFO(schema << ": " << json::serialize(v));
    for (const auto& e : errors) UNSCOPED_INFO(e);
    REQUIRE(errors.empty());
}

void write_sample(std::string_view name, const json::value& v) {
    const char* dir = std::getenv("CONNEX_SAMPLE_DIR");
    if (!dir) return;
    std::ofstream(std::filesystem::path(dir) / (std::string(name) + ".json")) << json::serialize(v);
}

}  // namespace

TEST_CASE("the schema checker rejects what it should", "[connex][schema]") {
    auto sc = SchemaChecker::load();
    json::object bad{{"type", "connex.status.evaluation"},
                     {"tenantId", 7},
                     {"canonical", json::object()},
                     {"operations", {{{"type", "send_email"}}}},
                     {"integration", {{"mode", "materialize_safe"}}}};
    auto errors = sc.check(bad, "StatusEvaluationResponse");
    std::string all;
    for (const auto& e : errors) all += e + "\n";
    INFO(all);
    CHECK(all.find("missing required mapped") != std::string::npos);
    CHECK(all.find("$.tenantId: wrong type") != std::string::npos);
    CHECK(all.find("$.operations[0].type") != std::string::npos);
    CHECK(all.find("$.integration.mode: want const") != std::string::npos);
    CHECK(!sc.check(json::object{{"valueScore", 101}}, "IntegrationOutcomeRequest").empty());
}

TEST_CASE("status, event and preview responses validate across the corpus", "[connex][schema]") {
    auto sc = SchemaChecker::load();
    auto corpus = corpus_messages();
    REQUIRE(corpus.size() >= 60);
    TenantWeights w;
    std::set<std::string> op_types, buckets_used, statuses;
    for (std::size_t i = 0; i < corpus.size(); ++i) {
        auto req = make_request(corpus[i], i);
        REQUIRE(validate_event_request(req).empty());
        require_valid(sc, req, "IntegrationEventRequest");
        EvalContext ctx;
        ctx.tenant_id = "ten_1";
        auto status = evaluate_status(req, w, ctx);
        require_valid(sc, status, "StatusEvaluationResponse");
        auto event = evaluate_event(req, w, ctx);
        require_valid(sc, event, "IntegrationEventResponse");
        auto pv = preview(req);
        require_valid(sc, pv, "IntegrationPreviewResponse");
        for (const auto& op : status.at("operations").as_array())
            op_types.insert(std::string(op.at("type").as_string()));
        for (const auto& [b, ops] : event.at("operationBuckets").as_object())
            if (!ops.as_array().empty()) buckets_used.insert(std::string(b));
        statuses.insert(std::string(status.at("canonical").at("status").as_string()));
        if (i == 1) {
            write_sample("status", status);
            write_sample("event", event);
            write_sample("preview", pv);
        }
    }
    // Coverage: the corpus drives every operation type and every bucket through the checker.
    CHECK(op_types.size() == 7);
    CHECK(buckets_used == std::set<std::string>{"autoApply", "humanReview", "blocked", "drafts"});
    CHECK(statuses.size() == kStatusCount);
}

TEST_CASE("outcome, insights and trust responses validate", "[connex][schema]") {
    auto sc = SchemaChecker::load();
    TenantWeights w;
    const char* types[] = {"operation_applied",  "operation_failed", "human_approved",
                           "human_rejected",     "reply_sent",       "meeting_booked",
                           "deal_advanced",      "deal_won",         "deal_lost",
                           "bad_classification", "spam_complaint",   "manual_override"};
    int n = 0;
    for (const char* t : types) {
        json::object req{{"sourceSystem", "buyboxclub"},
                         {"sourceOutcomeId", "out_" + std::to_string(n)},
                         {"outcomeType", t},
                         {"valueScore", (n % 3 - 1) * 40}};
        if (n % 2) req["operationId"] = "op_x";
        REQUIRE(validate_outcome_request(req).empty());
        require_valid(sc, req, "IntegrationOutcomeRequest");
        OutcomeFacts facts{.status = Status::pricing_question,
                           .signals = {"pricing"},
                           .operation_type = std::string("create_task"),
                           .operation_matched = n % 2 == 1};
        auto result = apply_outcome(w, req, facts);
        auto resp = outcome_response("ten_1", "oc_1", true, req, result, facts);
        require_valid(sc, resp, "IntegrationOutcomeResponse");
        if (n == 3) write_sample("outcome", resp);
        ++n;
    }
    InsightsCounts counts{
        .events = 10,
        .operations = 40,
        .operations_human_review = 12,
        .operations_blocked = 3,
        .operations_applied = 20,
        .outcomes = 12,
        .negative_outcomes = 4,
        .value_score_sum = 120,
        .reasoning_events = 0,
        .events_by_status = {{"pricing_question", 4}},
        .recent_transitions = {
            {"LOI Sent", "Needs POF", "proof_of_funds_requested", "2026-03-01T10:00:00Z"}}};
    auto insights = build_insights("ten_1", json::object{{"app", "buyboxclub"}}, counts, w);
    require_valid(sc, insights, "IntegrationInsightsResponse");
    write_sample("insights", insights);
    auto trust = build_trust("ten_1", {.verified_domain = true, .events = 10}, w);
    require_valid(sc, trust, "TrustResponse");
    write_sample("trust", trust);
    require_valid(sc, build_trust("ten_2", {}, TenantWeights{}), "TrustResponse");
}
