#include "storage/queue.hpp"

#include <catch2/catch.hpp>

#include "common/dsn.hpp"
#include "fixture.hpp"
#include "storage/repos.hpp"

using namespace postern;
using namespace postern::storage;
using namespace postern::storage::testing;

namespace {

struct Queued {
    Tenant tenant;
    Mailbox mailbox;
    Enqueued enqueued;
};

Queued queue_one(Database& db, std::vector<std::string> rcpts, std::int64_t at = 1000) {
    auto tenant = create_tenant(db, "default");
    REQUIRE(tenant);
    REQUIRE(create_domain(db, tenant->id, "example.com"));
    auto mbx = create_mailbox(db, tenant->id, "agent@example.com");
    REQUIRE(mbx);
    OutboundMessage m;
    m.tenant_id = tenant->id;
    m.mailbox_id = mbx->id;
    m.raw = "From: agent@example.com\r\nTo: a@dest.test\r\nSubject: hi\r\n\r\nbody\r\n";
    m.envelope_from = "agent@example.com";
    m.recipients = std::move(rcpts);
    m.summary = summary("hi", "agent@example.com", "a@dest.test", "id-1@example.com");
    m.created_at = at;
    m.source = "cli";
    auto q = enqueue_outbound(db, m);
    REQUIRE(q);
    return {*tenant, *mbx, *q};
}

std::int64_t count(Database& db, const char* sql) {
    auto st = db.prepare(sql);
    REQUIRE(st);
    auto row = st->step();
    REQUIRE(row);
    REQUIRE(*row);
    return st->int64(0);
}

// Every claimed row, in claim order (the tests that do not look at the groups).
Result<std::vector<DeliveryRow>> claim(Database& db, std::int64_t now, std::size_t groups = 10) {
    auto claimed = claim_due(db, now, 10'000, {groups, 100, 500});
    if (!claimed) return tl::unexpected(claimed.error());
    std::vector<DeliveryRow> rows;
    for (auto& g : *claimed)
        for (auto& r : g) rows.push_back(std::move(r));
    return rows;
}

OutboundConfig schedule() {
    OutboundConfig c;
    c.retry_schedule_seconds = {60, 300};
    c.retry_interval_seconds = 3600;
    c.max_lifetime_seconds = 4 * 3600;
    c.delay_dsn_after_seconds = 600;
    return c;
}

}  // namespace

TEST_CASE("claim_due leases rows so that a second claim skips them until the lease ends",
          "[storage][queue]") {
    TempDb t;
    auto q = queue_one(*t.db, {"a@dest.test", "b@dest.test"});
    auto first = claim(*t.db, 2000);
    REQUIRE(first);
    REQUIRE(first->size() == 2);
    CHECK(first->front().lease_until == 12'000);
    auto second = claim(*t.db, 5000);
    REQUIRE(second);
    CHECK(second->empty());
    // The runner died: after the lease the rows are due again (nothing is dropped).
    auto after = claim(*t.db, 12'000);
    REQUIRE(after);
    CHECK(after->size() == 2);
    // Not yet due rows are not claimed.
    auto early = claim(*t.db, 500);
    REQUIRE(early);
    CHECK(early->empty());
}

TEST_CASE(
    "claim_due groups a message's rows per domain, at most per_group each, and leases only "
    "the groups it returns",
    "[storage][queue]") {
    TempDb t;
    std::vector<std::string> rcpts;
    for (int i = 0; i < 7; ++i) rcpts.push_back("r" + std::to_string(i) + "@dest.test");
    rcpts.push_back("x@other.test");
    auto q = queue_one(*t.db, rcpts);
    // Two slots: dest.test's 7 rows in groups of 3 fill them; other.test waits, unleased.
    auto first = claim_due(*t.db, 2000, 10'000, {2, 3, 500});
    REQUIRE(first);
    REQUIRE(first->size() == 2);
    for (const auto& g : *first) {
        CHECK(g.size() == 3);
        for (const auto& r : g) {
            CHECK(r.domain == "dest.test");
            CHECK(r.message_id == q.enqueued.message_id);
        }
    }
    CHECK(count(*t.db, "SELECT count(*) FROM deliveries WHERE lease_until IS NOT NULL") == 6);
    // The rest: dest.test's last row and other.test's, as two groups.
    auto second = claim_due(*t.db, 2000, 10'000, {5, 3, 500});
    REQUIRE(second);
    REQUIRE(second->size() == 2);
    CHECK(second->at(0).size() == 1);
    CHECK(second->at(1).size() == 1);
    CHECK(count(*t.db, "SELECT count(*) FROM deliveries WHERE lease_until IS NULL") == 0);
    // One slot, 100 per group: all 8 rows of a fresh claim (after the leases) make 2 groups
    // (one per domain), so only the first domain's 7 are taken.
    auto third = claim_due(*t.db, 20'000, 10'000, {1, 100, 500});
    REQUIRE(third);
    REQUIRE(third->size() == 1);
    CHECK(third->front().size() == 7);
    // No slot: nothing is claimed.
    auto none = claim_due(*t.db, 40'000, 10'000, {0, 100, 500});
    REQUIRE(none);
    CHECK(none->empty());
}

TEST_CASE("decide_retry follows the schedule, then the interval, then bounces at expiry",
          "[storage][queue]") {
    auto c = schedule();
    DeliveryRow row;
    row.created_at = 0;
    row.attempts = 0;
    auto d = decide_retry(row, AttemptKind::deferred, c, 1000);
    CHECK(d.state == "deferred");
    CHECK(d.next_attempt_at == 61'000);
    CHECK_FALSE(d.delay_dsn);
    row.attempts = 1;
    CHECK(decide_retry(row, AttemptKind::deferred, c, 1000).next_attempt_at == 301'000);
    row.attempts = 2;
    CHECK(decide_retry(row, AttemptKind::deferred, c, 1000).next_attempt_at == 3'601'000);
    row.attempts = 7;  // the last retry is at the end of the lifetime, not after it
    CHECK(decide_retry(row, AttemptKind::deferred, c, 4 * 3600'000 - 10).next_attempt_at ==
          4 * 3600'000);
    auto late = decide_retry(row, AttemptKind::deferred, c, 4 * 3600'000);
    CHECK(late.state == "bounced");
    CHECK(late.expired);
    // The delay DSN: once, after delay_dsn_after_seconds.
    row.attempts = 1;
    CHECK(decide_retry(row, AttemptKind::deferred, c, 600'000).delay_dsn);
    row.delay_notified = true;
    CHECK_FALSE(decide_retry(row, AttemptKind::deferred, c, 600'000).delay_dsn);
    CHECK(decide_retry(row, AttemptKind::bounced, c, 1).state == "bounced");
    CHECK(decide_retry(row, AttemptKind::delivered, c, 1).state == "delivered");
}

TEST_CASE("record_outcomes writes states, events and a DSN into the sender's inbox",
          "[storage][queue]") {
    TempDb t;
    auto q = queue_one(*t.db, {"a@dest.test", "b@dest.test"});
    auto rows = claim(*t.db, 2000);
    REQUIRE(rows);
    REQUIRE(rows->size() == 2);
    auto c = schedule();
    std::vector<OutcomeUpdate> updates;
    updates.push_back({(*rows)[0].id, decide_retry((*rows)[0], AttemptKind::delivered, c, 3000),
                       "250 2.0.0 ok", "mx.dest.test:25"});
    updates.push_back({(*rows)[1].id, decide_retry((*rows)[1], AttemptKind::bounced, c, 3000),
                       "550 5.1.1 no such user", "mx.dest.test:25"});
    dsn::Request req;
    req.reporting_mta = "mx.example.com";
    req.to = "agent@example.com";
    req.original = "Subject: hi\r\n\r\nbody\r\n";
    req.recipients.push_back(
        {"b@dest.test", "5.1.1", "mx.dest.test", "550 5.1.1 no such user", 3000});
    auto report = dsn::build(req);
    REQUIRE(report);
    REQUIRE(record_outcomes(*t.db, updates, 3000, *report, std::nullopt));

    auto a = find_delivery(*t.db, q.tenant.id, (*rows)[0].id);
    REQUIRE(a);
    REQUIRE(*a);
    CHECK((*a)->state == "delivered");
    CHECK((*a)->attempts == 1);
    CHECK_FALSE((*a)->next_attempt_at);
    CHECK_FALSE((*a)->lease_until);
    auto b = find_delivery(*t.db, q.tenant.id, (*rows)[1].id);
    REQUIRE(b);
    CHECK((*b)->state == "bounced");
    REQUIRE((*b)->dsn_message_id);
    CHECK(count(*t.db, "SELECT count(*) FROM events WHERE type = 'message.delivered'") == 1);
    CHECK(count(*t.db, "SELECT count(*) FROM events WHERE type = 'message.bounced'") == 1);
    CHECK(count(*t.db, "SELECT count(*) FROM messages WHERE folder = 'inbox'") == 1);
    // Final rows are never claimed again.
    auto again = claim(*t.db, 100'000);
    REQUIRE(again);
    CHECK(again->empty());
}

TEST_CASE("admin operations: retry now, cancel, and no outcome over a cancelled row",
          "[storage][queue]") {
    TempDb t;
    auto q = queue_one(*t.db, {"a@dest.test"});
    const auto id = q.enqueued.deliveries.front().id;
    auto rows = claim(*t.db, 2000);
    REQUIRE(rows);
    auto c = schedule();
    std::vector<OutcomeUpdate> u{{id, decide_retry(rows->front(), AttemptKind::deferred, c, 3000),
                                  "451 4.3.0 try later", "mx:25"}};
    REQUIRE(record_outcomes(*t.db, u, 3000, std::nullopt, std::nullopt));
    auto row = find_delivery(*t.db, q.tenant.id, id);
    REQUIRE(row);
    CHECK((*row)->state == "deferred");
    CHECK((*row)->next_attempt_at == 63'000);
    REQUIRE(retry_now(*t.db, q.tenant.id, id, 4000));
    auto due = claim(*t.db, 4000);
    REQUIRE(due);
    CHECK(due->size() == 1);
    REQUIRE(cancel_delivery(*t.db, q.tenant.id, id, 5000));
    // The attempt in flight finishes after the cancel: its outcome is not recorded.
    std::vector<OutcomeUpdate> late{
        {id, decide_retry(due->front(), AttemptKind::delivered, c, 6000), "250 ok", "mx:25"}};
    REQUIRE(record_outcomes(*t.db, late, 6000, std::nullopt, std::nullopt));
    row = find_delivery(*t.db, q.tenant.id, id);
    CHECK((*row)->state == "cancelled");
    CHECK(retry_now(*t.db, q.tenant.id, id, 7000).error().code() == Errc::conflict);
    CHECK(cancel_delivery(*t.db, q.tenant.id, "dlv_nope", 7000).error().code() == Errc::not_found);
    CHECK_FALSE(*find_delivery(*t.db, "ten_other", id));
    QueueFilter pending;
    CHECK(list_queue(*t.db, q.tenant.id, pending)->empty());
    QueueFilter all;
    all.include_final = true;
    CHECK(list_queue(*t.db, q.tenant.id, all)->size() == 1);
}
