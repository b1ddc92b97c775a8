#include "storage/outbound.hpp"

#include <catch2/catch.hpp>

#include "fixture.hpp"
#include "storage/repos.hpp"

using namespace postern;
using namespace postern::storage;
using namespace postern::storage::testing;

namespace {

struct Sender {
    Tenant tenant;
    Mailbox mailbox;
};

Sender make_sender(Database& db) {
    auto tenant = create_tenant(db, "default");
    REQUIRE(tenant);
    REQUIRE(create_domain(db, tenant->id, "example.com"));
    auto mbx = create_mailbox(db, tenant->id, "agent@example.com");
    REQUIRE(mbx);
    return {*tenant, *mbx};
}

OutboundMessage message(const Sender& s, std::vector<std::string> rcpts) {
    OutboundMessage m;
    m.tenant_id = s.tenant.id;
    m.mailbox_id = s.mailbox.id;
    m.raw = "From: agent@example.com\r\nTo: a@dest.test\r\nSubject: hi\r\n\r\nbody\r\n";
    m.envelope_from = "agent@example.com";
    m.recipients = std::move(rcpts);
    m.summary = summary("hi", "agent@example.com", "a@dest.test", "id-1@example.com");
    m.created_at = 1000;
    m.source = "api";
    return m;
}

}  // namespace

TEST_CASE("enqueue_outbound stores a Sent copy and one delivery per distinct recipient",
          "[storage][outbound]") {
    TempDb t;
    auto s = make_sender(*t.db);
    auto q = enqueue_outbound(*t.db, message(s, {"a@dest.test", "b@Other.TEST", "a@DEST.test"}));
    REQUIRE(q);
    REQUIRE(q->deliveries.size() == 2);
    CHECK(q->deliveries[0].domain == "dest.test");
    CHECK(q->deliveries[1].domain == "other.test");
    CHECK(q->deliveries[1].recipient == "b@Other.TEST");
    CHECK(q->deliveries[0].state == "queued");
    CHECK(q->deliveries[0].next_attempt_at == 1000);

    Scope scope{s.tenant.id, s.mailbox.id};
    auto msg = get_message(*t.db, scope, q->message_id);
    REQUIRE(msg);
    REQUIRE(*msg);
    CHECK((*msg)->folder == "sent");
    CHECK((*msg)->envelope_to == "a@dest.test b@Other.TEST");

    auto list = list_deliveries(*t.db, scope, q->message_id);
    REQUIRE(list);
    CHECK(list->size() == 2);
    // Another tenant sees nothing.
    auto other = list_deliveries(*t.db, Scope{"ten_other", std::nullopt}, q->message_id);
    REQUIRE(other);
    CHECK(other->empty());

    auto ev = t.db->prepare("SELECT count(*) FROM events WHERE type = 'message.sent'");
    REQUIRE(ev);
    REQUIRE(*ev->step());
    CHECK(ev->int64(0) == 1);
}

TEST_CASE("enqueue_outbound refuses no recipients and bad addresses", "[storage][outbound]") {
    TempDb t;
    auto s = make_sender(*t.db);
    auto none = enqueue_outbound(*t.db, message(s, {}));
    REQUIRE_FALSE(none);
    CHECK(none.error().code() == Errc::invalid_argument);
    auto bad = enqueue_outbound(*t.db, message(s, {"not an address"}));
    REQUIRE_FALSE(bad);
    CHECK(bad.error().code() == Errc::invalid_argument);
}

TEST_CASE("idempotency keys replay within the window only", "[storage][outbound]") {
    TempDb t;
    IdempotentResponse r{"abc", 202, "{\"id\":\"msg_1\"}", 1000};
    REQUIRE(save_idempotent(*t.db, "ten_1", "tok_1", "k1", "POST /x", r));
    auto hit = find_idempotent(*t.db, "ten_1", "tok_1", "k1", 2000);
    REQUIRE(hit);
    REQUIRE(*hit);
    CHECK((*hit)->status == 202);
    CHECK((*hit)->response == r.response);
    auto other_principal = find_idempotent(*t.db, "ten_1", "tok_2", "k1", 2000);
    REQUIRE(other_principal);
    CHECK_FALSE(*other_principal);
    auto expired = find_idempotent(*t.db, "ten_1", "tok_1", "k1", 1000 + kIdempotencyWindowMs);
    REQUIRE(expired);
    CHECK_FALSE(*expired);
}
