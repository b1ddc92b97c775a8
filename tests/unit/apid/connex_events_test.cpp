// Connex integration events, outcomes, insights and trust through Api::handle: idempotency,
// tenant isolation, materialize_safe, the operation ledger and outcome learning.
#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

#include "connex_fixture.hpp"

using namespace postern::api;
using postern::api::test::ConnexFixture;
using postern::api::test::event_body;
namespace json = boost::json;

namespace {

const std::string kEvent = "/api/connex/integration-event";
const std::string kOutcome = "/api/connex/integration-outcome";
const std::string kInsights = "/api/connex/integration-insights";

std::string outcome_body(const std::string& id, const std::string& type, int value,
                         const std::string& refs = "") {
    return R"({"sourceSystem": "your-saas", "sourceOutcomeId": ")" + id + R"(", "outcomeType": ")" +
           type + R"(", "valueScore": )" + std::to_string(value) + refs + "}";
}

std::string op_of(const json::value& event, std::string_view type) {
    for (const auto& op : event.at("status").at("operations").as_array())
        if (op.at("type").as_string() == type) return std::string(op.at("id").as_string());
    return "";
}

}  // namespace

TEST_CASE("connex: integration-event is idempotent on sourceSystem + sourceEventId",
          "[apid][connex]") {
    ConnexFixture f;
    auto first = f.post(kEvent, f.key, event_body("evt_1"));
    REQUIRE(first.status == 200);
    auto doc = json::parse(first.body);
    CHECK(doc.at("type") == "connex.integration.event.result");
    CHECK(doc.at("tenantId").as_string() == f.tenant.id);
    CHECK(doc.at("status").at("canonical").at("status") == "approval_requested");
    CHECK(std::string_view(doc.at("integrationEventId").as_string()).starts_with("cxe_"));

    // Whitespace does not make another request; the reply is the stored one, byte for byte.
    auto again = f.post(kEvent, f.key, "  " + event_body("evt_1") + "\n");
    CHECK(again.status == 200);
    CHECK(again.body == first.body);
    CHECK(*again.header("Idempotent-Replayed") == "true");
    auto conflict = f.post(kEvent, f.key, event_body("evt_1", "Something else entirely"));
    CHECK(conflict.status == 409);
    CHECK(f.count("SELECT count(*) FROM connex_events") == 1);
    // Stored compactly (status.operations is rebuilt from the buckets), replayed whole.
    CHECK(f.count("SELECT length(result) FROM connex_events") <
          static_cast<std::int64_t>(first.body.size()) * 3 / 4);
    CHECK(f.count("SELECT count(*) FROM connex_operations") ==
          static_cast<std::int64_t>(doc.at("status").at("operations").as_array().size()));

    // Another source system may use the same event id; no event id means no idempotency.
    CHECK(
        f.post(
             kEvent, f.key,
             R"({"app": "other-app", "sourceEventId": "evt_1", "message": {"subject": "s", "body": "b"}})")
            .status == 200);
    CHECK(f.post(kEvent, f.key, event_body("")).status == 200);
    CHECK(f.post(kEvent, f.key, event_body("")).status == 200);
    CHECK(f.count("SELECT count(*) FROM connex_events") == 4);
}

TEST_CASE("connex: two racing duplicates store one event and answer alike", "[apid][connex]") {
    ConnexFixture f;
    Request r;
    r.method = "POST";
    r.target = kEvent;
    r.authorization = "Bearer " + f.key;
    r.body = event_body("race");
    // Both pass the idempotency lookup before either write commits.
    Response a = f.api.handle(r, *f.db, f.now);
    Response b = f.api.handle(r, *f.db, f.now);
    REQUIRE(a.deferred);
    REQUIRE(b.deferred);
    Response ra = Api::run_inline(std::move(a), *f.db);
    Response rb = Api::run_inline(std::move(b), *f.db);
    CHECK(ra.status == 200);
    CHECK(rb.status == 200);
    CHECK(rb.body == ra.body);
    CHECK(rb.header("Idempotent-Replayed"));
    CHECK(f.count("SELECT count(*) FROM connex_events") == 1);
}

TEST_CASE("connex: tenants are isolated", "[apid][connex]") {
    ConnexFixture f;
    auto mine = json::parse(f.post(kEvent, f.key, event_body("shared_id")).body);
    // The same source id in another tenant is another event, evaluated for that tenant.
    auto theirs_r = f.post(kEvent, f.other_key, event_body("shared_id"));
    CHECK_FALSE(theirs_r.header("Idempotent-Replayed"));
    auto theirs = json::parse(theirs_r.body);
    CHECK(theirs.at("tenantId").as_string() == f.other.id);
    CHECK(theirs.at("integrationEventId") != mine.at("integrationEventId"));
    // An outcome naming the other tenant's event or operation matches nothing.
    std::string op = op_of(mine, "update_status");
    auto stolen =
        json::parse(f.post(kOutcome, f.other_key,
                           outcome_body("o1", "human_rejected", -5,
                                        R"(, "integrationEventId": ")" +
                                            std::string(mine.at("integrationEventId").as_string()) +
                                            R"(", "operationId": ")" + op + "\""))
                        .body);
    CHECK(stolen.at("persistence").at("operation").at("matched") == false);
    CHECK(f.count("SELECT count(*) FROM connex_operations WHERE status <> 'recommended'") == 0);
    auto insights = json::parse(f.post(kInsights, f.other_key).body);
    CHECK(insights.at("tenantId").as_string() == f.other.id);
    CHECK(insights.at("summary").at("events") == 1);
    CHECK(insights.at("summary").at("outcomes") == 1);
    auto own = json::parse(f.post(kInsights, f.key).body);
    CHECK(own.at("summary").at("outcomes") == 0);
    auto trust = json::parse(f.post("/api/connex/trust", f.key).body);
    CHECK(trust.at("tenantId").as_string() == f.tenant.id);
    CHECK(trust.at("score") == 50);  // the other tenant's override does not touch ours
}

TEST_CASE("connex: materialize_safe stores internal dispatch records, never a send",
          "[apid][connex]") {
    ConnexFixture f;
    auto r = f.post(kEvent, f.key,
                    event_body("mat", "Can you confirm terms before we proceed?",
                               R"(, "applyMode": "materialize_safe")"));
    REQUIRE(r.status == 200);
    auto doc = json::parse(r.body);
    const auto& m = doc.at("materialization");
    CHECK(m.at("mode") == "materialize_safe");
    CHECK(m.at("materialized") == true);
    auto n = static_cast<std::int64_t>(m.at("dispatches").as_array().size());
    CHECK(n >= 2);
    for (const auto& d : m.at("dispatches").as_array()) CHECK(d.at("external") == false);
    CHECK(f.count("SELECT count(*) FROM connex_dispatch") == n);
    CHECK(f.count("SELECT count(*) FROM connex_dispatch WHERE external <> 0") == 0);
    CHECK(f.count("SELECT count(*) FROM events WHERE type = 'connex.dispatch.created'") == n);
    CHECK(doc.at("status").at("canonical").at("blockedActions").as_array()[0] == "send_email");
    // The schema refuses an external dispatch outright.
    CHECK_FALSE(f.db->exec("UPDATE connex_dispatch SET external = 1"));
    // recommend (the default) materializes nothing.
    auto rec = json::parse(f.post(kEvent, f.key, event_body("rec")).body);
    CHECK(rec.at("materialization").at("materialized") == false);
    CHECK(f.count("SELECT count(*) FROM connex_dispatch") == n);

    auto dispatched = json::parse(
        f.post("/api/connex/dispatch", f.admin, R"({"type": "send_email", "label": "x"})").body);
    CHECK(dispatched.at("status") == "blocked");
    CHECK(dispatched.at("external") == false);
    // However the type is spelled, a send is blocked; a draft or a classification is not.
    auto status_of = [&](const std::string& type) {
        auto r = f.post("/api/connex/dispatch", f.admin, R"({"type": ")" + type + R"("})");
        REQUIRE(r.status == 200);
        return std::string(json::parse(r.body).at("status").as_string());
    };
    for (const char* type :
         {"SEND_EMAIL", "Send-Email", "sendEmail", "send_email ", "reply_email", "send_sms",
          "forwardMessage", "Email", "send/email", "send:email", "SENDEmail", "SMSSend",
          "sendemail", "read_and_reply", "archive_then_email_customer"})
        CHECK(status_of(type) == "blocked");
    for (const char* type : {"draft_reply", "classify_email", "create_task", "summarizeThread"})
        CHECK(status_of(type) == "pending_approval");
    auto task =
        json::parse(f.post("/api/connex/dispatch", f.admin, R"({"type": "create_task"})").body);
    CHECK(task.at("status") == "pending_approval");  // trust 50 < 70 restricts dispatch
    CHECK(f.post("/api/connex/dispatch", f.admin, R"({"label": "no type"})").status == 400);
    auto graph = f.post(
        "/api/connex/graph-event", f.admin,
        R"({"kind": "introduced", "from": "a@x.example", "to": {"type": "agent", "key": "bot"}})");
    CHECK(graph.status == 200);
    CHECK(f.count("SELECT count(*) FROM connex_graph_events") == 1);
}

TEST_CASE("connex: outcomes update the ledger and the tenant's weights, once", "[apid][connex]") {
    ConnexFixture f;
    auto event = json::parse(f.post(kEvent, f.key, event_body("learn")).body);
    std::string event_id(event.at("integrationEventId").as_string());
    double before = event.at("status").at("canonical").at("confidence").as_double();
    std::string op = op_of(event, "update_status");
    REQUIRE(!op.empty());

    auto applied = f.post(
        kOutcome, f.key,
        outcome_body("o-applied", "operation_applied", 20, R"(, "operationId": ")" + op + "\""));
    REQUIRE(applied.status == 200);
    auto a = json::parse(applied.body);
    CHECK(a.at("persistence").at("learningSignal") == "positive_operation_signal");
    CHECK(a.at("persistence").at("operation").at("matched") == true);
    CHECK(a.at("persistence").at("operation").at("appliedStatus") == "applied");
    CHECK(f.count("SELECT count(*) FROM connex_operations WHERE id = '" + op +
                  "' AND status = 'applied'") == 1);

    // Three bad classifications by our event id, then by the caller's own event id.
    for (int i = 0; i < 3; ++i) {
        std::string ref = i == 2 ? "learn" : event_id;
        auto r = f.post(kOutcome, f.key,
                        outcome_body("o-bad-" + std::to_string(i), "bad_classification", -30,
                                     R"(, "integrationEventId": ")" + ref + "\""));
        REQUIRE(r.status == 200);
        CHECK(json::parse(r.body).at("learning").at("signal") == "negative_classification_signal");
    }
    // A replayed outcome returns the first answer and does not learn twice.
    auto replay = f.post(kOutcome, f.key,
                         outcome_body("o-bad-0", "bad_classification", -30,
                                      R"(, "integrationEventId": ")" + event_id + "\""));
    CHECK(replay.header("Idempotent-Replayed"));
    CHECK(f.post(kOutcome, f.key, outcome_body("o-bad-0", "deal_won", 90)).status == 409);
    CHECK(f.count("SELECT version FROM connex_weights") == 4);
    CHECK(f.count("SELECT count(*) FROM connex_outcomes") == 4);

    // A later evaluation of the same kind of message is less confident.
    auto later = json::parse(f.post(kEvent, f.key, event_body("learn-2")).body);
    CHECK(later.at("status").at("canonical").at("status") == "approval_requested");
    CHECK(later.at("status").at("canonical").at("confidence").as_double() < before);
    // And insights show it.
    auto in =
        json::parse(f.post(kInsights, f.key, R"({"sourceSystem": "your-saas", "limit": 5})").body);
    CHECK(in.at("summary").at("events") == 2);
    CHECK(in.at("summary").at("outcomes") == 4);
    CHECK(in.at("summary").at("negativeOutcomes") == 3);
    bool adjusted = false;
    for (const auto& s : in.at("byStatus").as_array())
        if (s.at("status") == "approval_requested")
            adjusted =
                s.at("badClassifications") == 3 && s.at("confidenceAdjustment").as_double() < 0;
    CHECK(adjusted);
    CHECK(in.at("filters").at("sourceSystem") == "your-saas");
    CHECK(f.post(kInsights, f.key, R"({"limit": 0})").status == 400);
    CHECK(f.post(kInsights, f.key, R"({"limit": 101})").status == 400);
    CHECK(f.post(kInsights, f.key, R"({"limit": 1.5})").status == 400);
    // 1.0 is the integer 1 (JSON Schema): validated and then read as such, not ignored.
    auto one = json::parse(f.post(kInsights, f.key, R"({"limit": 1.0})").body);
    CHECK(one.at("filters").at("limit") == 1);
    auto trust = json::parse(f.post("/api/connex/trust", f.key).body);
    CHECK(trust.at("score").as_int64() < 50);  // bad classifications cost trust
    CHECK(trust.at("signals").at("badClassifications") == 3);
}

TEST_CASE("connex: outcomes follow the ledger's rules, or are refused with 409 and not recorded",
          "[apid][connex]") {
    ConnexFixture f;
    auto event = json::parse(f.post(kEvent, f.key,
                                    event_body("rules", "Can you confirm terms before we proceed?",
                                               R"(, "sourceMailbox": {"replyPolicy": "disabled"})"))
                                 .body);
    auto op_in = [&](const std::string& bucket) {
        for (const auto& op : event.at("status").at("operations").as_array()) {
            std::string id(op.at("id").as_string());
            if (f.count("SELECT count(*) FROM connex_operations WHERE id = '" + id +
                        "' AND bucket = '" + bucket + "'") == 1)
                return id;
        }
        return std::string();
    };
    const std::string blocked = op_in("blocked"), review = op_in("humanReview");
    REQUIRE(!blocked.empty());
    REQUIRE(!review.empty());
    auto outcome = [&](const std::string& id, const std::string& type, const std::string& op) {
        return f
            .post(kOutcome, f.key, outcome_body(id, type, 0, R"(, "operationId": ")" + op + "\""))
            .status;
    };
    auto status_of = [&](const std::string& op) {
        for (const char* s :
             {"recommended", "approved", "applied", "rejected", "failed", "skipped"})
            if (f.count("SELECT count(*) FROM connex_operations WHERE id = '" + op +
                        "' AND status = '" + s + "'") == 1)
                return std::string(s);
        return std::string("?");
    };
    const auto version = f.count("SELECT count(*) FROM connex_weights");
    CHECK(outcome("r1", "operation_applied", blocked) == 409);
    CHECK(outcome("r2", "operation_applied", review) == 409);  // a human approves first
    CHECK(f.count("SELECT count(*) FROM connex_outcomes") == 0);
    CHECK(f.count("SELECT count(*) FROM connex_weights") == version);  // nothing learned
    CHECK(outcome("r3", "human_approved", review) == 200);
    CHECK(outcome("r4", "human_rejected", review) == 409);  // approved already
    CHECK(outcome("r5", "operation_applied", review) == 200);
    CHECK(outcome("r6", "operation_failed", review) == 409);  // settled
    CHECK(outcome("r7", "human_rejected", blocked) == 200);
    CHECK(outcome("r8", "human_approved", blocked) == 409);
    CHECK(status_of(review) == "applied");
    CHECK(status_of(blocked) == "rejected");
    CHECK(f.count("SELECT count(*) FROM connex_outcomes") == 3);
    // A 409 is not stored, so the same sourceOutcomeId can be used once the request is right.
    CHECK(outcome("r1", "manual_override", blocked) == 409);  // rejected is settled
}
