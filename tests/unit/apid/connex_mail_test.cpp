// Connex and stored mail: the outbox-driven auto-evaluator, the evaluation in
// GET /v1/messages/{id}, and the rate-limiting primitives. No sockets, no threads: run_once() is
// driven directly with an inline write.
#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

#include "apid/auto_evaluate.hpp"
#include "apid/rate_limit.hpp"
#include "connex_fixture.hpp"

using namespace postern::api;
using postern::api::test::ConnexFixture;
using postern::api::test::simple_message;
namespace json = boost::json;

namespace {

// Runs each job in its own transaction on the fixture's connection (what the writer does).
AutoEvaluator::Write inline_write(postern::storage::Database& db) {
    return [&db](postern::storage::Writer::Job job) -> postern::Result<void> {
        auto tx = postern::storage::Transaction::begin(db);
        if (!tx) return tl::unexpected(tx.error());
        POSTERN_TRY(job(db));
        return tx->commit();
    };
}

std::string pof_message(const std::string& to) {
    return "From: Buyer <buyer@remote.example>\r\nTo: " + to +
           "\r\nSubject: Proof of funds\r\nDate: Sun, 22 Nov 2026 08:03:46 +0000\r\n\r\n"
           "Before we sign, please send a proof of funds letter from your lender.\r\n";
}

}  // namespace

TEST_CASE("auto-evaluation: the outbox drives it, per mailbox, once", "[apid][connex][mail]") {
    ConnexFixture f;
    auto write = inline_write(*f.db);
    // Mail read by the evaluator while the setting was off is passed over for good.
    auto early = f.deliver(pof_message("alice@example.com"), {&f.alice});
    auto first = AutoEvaluator::run_once(*f.db, f.api.connex().weights(), write, 100, f.now);
    REQUIRE(first);
    CHECK(*first == 1);
    REQUIRE(f.call(f.api, "PATCH", "/v1/mailboxes/alice@example.com", f.admin,
                   R"({"connex_auto_evaluate": true})")
                .status == 200);
    auto to_alice = f.deliver(pof_message("alice@example.com"), {&f.alice});
    auto to_bob = f.deliver(pof_message("bob@example.com"), {&f.bob});

    auto n = AutoEvaluator::run_once(*f.db, f.api.connex().weights(), write, 100, f.now);
    REQUIRE(n);
    CHECK(*n == 3);  // mailbox.updated and two message.received
    CHECK(f.count("SELECT count(*) FROM message_evaluations") == 1);
    CHECK(f.count("SELECT count(*) FROM events WHERE type = 'message.evaluated'") == 1);

    auto msg =
        json::parse(f.call(f.api, "GET", "/v1/messages/" + to_alice[0], f.tenant_token).body);
    const auto& connex = msg.at("connex");
    REQUIRE(connex.is_object());
    CHECK(connex.at("status") == "proof_of_funds_requested");
    const auto& result = connex.at("result");
    CHECK(result.at("type") == "connex.integration.event.result");
    CHECK(result.at("tenantId").as_string() == f.tenant.id);
    CHECK(result.at("shadowMessage").at("persisted") == true);
    CHECK(result.at("shadowMessage").at("messageId").as_string() == to_alice[0]);
    CHECK(result.at("networkEnvelope").at("sourceEventId").as_string() == to_alice[0]);
    auto bob = json::parse(f.call(f.api, "GET", "/v1/messages/" + to_bob[0], f.tenant_token).body);
    CHECK(bob.at("connex").is_null());
    auto before =
        json::parse(f.call(f.api, "GET", "/v1/messages/" + early[0], f.tenant_token).body);
    CHECK(before.at("connex").is_null());

    // The cursor moved with the results: the next pass sees only the message.evaluated event,
    // and after that nothing.
    auto again = AutoEvaluator::run_once(*f.db, f.api.connex().weights(), write, 100, f.now);
    REQUIRE(again);
    CHECK(*again == 1);
    auto idle = AutoEvaluator::run_once(*f.db, f.api.connex().weights(), write, 100, f.now);
    REQUIRE(idle);
    CHECK(*idle == 0);
    CHECK(f.count("SELECT count(*) FROM message_evaluations") == 1);
    // The evaluation is an integration event of the tenant: it counts in insights and can be
    // the subject of outcomes.
    auto in = json::parse(
        f.post("/api/connex/integration-insights", f.key, R"({"sourceSystem": "postern"})").body);
    CHECK(in.at("summary").at("events") == 1);
}

TEST_CASE("auto-evaluation: sourceSystem \"postern\" is reserved for it", "[apid][connex][mail]") {
    ConnexFixture f;
    REQUIRE(
        postern::storage::set_mailbox_auto_evaluate(*f.db, f.tenant.id, f.alice.id, true, f.now));
    auto ids = f.deliver(pof_message("alice@example.com"), {&f.alice});
    // A caller posting under the evaluator's key before it runs is refused, naming the field.
    auto event = [&](const std::string& naming) {
        return R"({)" + naming + R"(, "sourceEventId": ")" + ids[0] +
               R"(", "eventType": "inbound_email", "message": {"subject": "poison", "body": "hi"}})";
    };
    for (const auto& [naming, field] : std::vector<std::pair<std::string, std::string>>{
             {R"("app": "x", "sourceSystem": "postern")", "sourceSystem"},
             {R"("app": "x", "sourceSystem": "Postern")", "sourceSystem"},
             {R"("app": "postern")", "app"}}) {
        auto r = f.post("/api/connex/integration-event", f.key, event(naming));
        CHECK(r.status == 400);
        CHECK(json::parse(r.body).at("errors").at(0).at("field").as_string() == field);
    }
    // app "postern" under a system of the caller's own is fine.
    CHECK(f.post("/api/connex/integration-event", f.key,
                 event(R"("app": "postern", "sourceSystem": "crm")"))
              .status == 200);
    auto write = inline_write(*f.db);
    REQUIRE(AutoEvaluator::run_once(*f.db, f.api.connex().weights(), write, 100, f.now));
    auto msg = json::parse(f.call(f.api, "GET", "/v1/messages/" + ids[0], f.tenant_token).body);
    CHECK(msg.at("connex").at("status") == "proof_of_funds_requested");
}

TEST_CASE("auto-evaluation: a failed write leaves the cursor, so nothing is lost",
          "[apid][connex][mail]") {
    ConnexFixture f;
    REQUIRE(
        postern::storage::set_mailbox_auto_evaluate(*f.db, f.tenant.id, f.alice.id, true, f.now));
    auto ids = f.deliver(pof_message("alice@example.com"), {&f.alice});
    auto failing = [](postern::storage::Writer::Job) -> postern::Result<void> {
        return postern::fail(postern::Errc::io, "disk full");
    };
    CHECK_FALSE(AutoEvaluator::run_once(*f.db, f.api.connex().weights(), failing, 100, f.now));
    CHECK(f.count("SELECT count(*) FROM message_evaluations") == 0);
    auto n =
        AutoEvaluator::run_once(*f.db, f.api.connex().weights(), inline_write(*f.db), 100, f.now);
    REQUIRE(n);
    CHECK(*n == 1);
    CHECK(f.count("SELECT count(*) FROM message_evaluations WHERE message_id = '" + ids[0] + "'") ==
          1);
    // A consumer that lost a race (the cursor moved under it) rolls back instead of repeating.
    REQUIRE(f.db->exec("UPDATE outbox_cursors SET seq = 0"));
    REQUIRE(postern::storage::advance_outbox_cursor(*f.db, kAutoEvaluateCursor, 0, 0, f.now));
    CHECK_FALSE(postern::storage::advance_outbox_cursor(*f.db, kAutoEvaluateCursor, 5, 6, f.now));
    // Re-reading from 0 evaluates nothing twice.
    auto redo =
        AutoEvaluator::run_once(*f.db, f.api.connex().weights(), inline_write(*f.db), 100, f.now);
    REQUIRE(redo);
    CHECK(f.count("SELECT count(*) FROM message_evaluations") == 1);
    CHECK(f.count("SELECT count(*) FROM connex_events") == 1);
}

TEST_CASE("rate limiter: bucket, refill, Retry-After, bounded keys", "[apid][connex][rate]") {
    RateLimiter r(2, 3, 4);  // 2/s, burst 3, at most 4 keys
    for (int i = 0; i < 3; ++i) CHECK(r.take("a", 1000).allowed);
    auto d = r.take("a", 1000);
    CHECK_FALSE(d.allowed);
    CHECK(d.retry_after_seconds == 1);
    CHECK(r.take("a", 1500).allowed);  // 0.5 s refills one token
    CHECK_FALSE(r.take("a", 1500).allowed);
    for (const char* k : {"b", "c", "d", "e", "f"}) CHECK(r.take(k, 1500).allowed);
    CHECK(RateLimiter(0, 0).take("x", 0).allowed);  // 0 = unlimited
    RateLimiter slow(0.1, 1);
    CHECK(slow.take("k", 0).allowed);
    CHECK(slow.take("k", 0).retry_after_seconds == 10);
}

TEST_CASE("daily quota: seeded from storage once per day", "[apid][connex][rate]") {
    DailyQuota q(3);
    int seeded = 0;
    auto used = [&](std::int64_t) -> postern::Result<std::int64_t> {
        ++seeded;
        return 2;
    };
    const std::int64_t day = 86'400'000;
    auto a = q.take("t", 10 * day + 5, used);
    REQUIRE(a);
    CHECK(a->allowed);
    auto b = q.take("t", 10 * day + 6, used);
    REQUIRE(b);
    CHECK_FALSE(b->allowed);
    CHECK(b->retry_after_seconds == (day - 6 + 999) / 1000);
    CHECK(seeded == 1);
    auto next_day = q.take("t", 11 * day, used);
    REQUIRE(next_day);
    CHECK(next_day->allowed);
    CHECK(seeded == 2);
}
