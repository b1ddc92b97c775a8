// The sending routes, deliveries, Idempotency-Key, the authentication field and the domain
// routes, called through Api::handle + run_inline on a temporary database (no sockets).
#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include "common/crypto.hpp"
#include "fixture.hpp"
#include "storage/outbound.hpp"

using namespace postern;
using namespace postern::api;
using namespace postern::api::test;
namespace json = boost::json;

namespace {

struct SendFixture : Fixture {
    Api sender;
    std::string admin_token, mailbox_admin;

    static ApiOptions options(bool require_verified, std::uint64_t max_bytes) {
        ApiOptions o;
        o.mail.hostname = "mx.test.example";
        o.mail.require_verified_domain = require_verified;
        o.mail.max_message_bytes = max_bytes;
        return o;
    }
    explicit SendFixture(bool require_verified = false, std::uint64_t max_bytes = 100000)
        : sender(options(require_verified, max_bytes)) {
        admin_token =
            must(storage::create_token(*db, tenant.id, std::nullopt, {"admin"}, std::nullopt))
                .secret;
        mailbox_admin = must(storage::create_token(*db, tenant.id, alice.id,
                                                   {"admin", "email:send"}, std::nullopt))
                            .secret;
    }

    Response call(const std::string& method, const std::string& target, const std::string& token,
                  const std::string& body, std::optional<std::string> key = std::nullopt) {
        Request r;
        r.method = method;
        r.target = target;
        r.authorization = "Bearer " + token;
        r.body = body;
        r.idempotency_key = std::move(key);
        return Api::run_inline(sender.handle(r, *db, now), *db);
    }
    Response send(const std::string& body, std::optional<std::string> key = std::nullopt) {
        return call("POST", "/v1/mailboxes/alice@example.com/messages", send_token, body,
                    std::move(key));
    }
    std::int64_t count(std::string_view table) {
        auto st = must(db->prepare(table == "deliveries" ? "SELECT count(*) FROM deliveries"
                                                         : "SELECT count(*) FROM messages"));
        REQUIRE(must(st.step()));
        return st.int64(0);
    }
};

std::vector<std::string> error_fields(const Response& r) {
    std::vector<std::string> out;
    auto doc = json::parse(r.body);
    if (auto* e = doc.as_object().if_contains("errors"))
        for (const auto& x : e->as_array()) out.emplace_back(x.at("field").as_string());
    return out;
}

}  // namespace

TEST_CASE("send answers 202, stores the Sent copy and queues each distinct recipient",
          "[apid][send]") {
    SendFixture f;
    auto r = f.send(R"({"to": ["Bob <bob@remote.example>"], "cc": "c@far.example",
                        "bcc": ["bob@Remote.Example", "hidden@far.example"],
                        "subject": "Grüße", "text": "hi", "html": "<p>hi</p>"})");
    REQUIRE(r.status == 202);
    auto doc = json::parse(r.body);
    std::string id(doc.at("id").as_string());
    CHECK(id.starts_with("msg_"));
    CHECK(doc.at("deliveries").as_array().size() == 3);
    CHECK(std::string_view(doc.at("message_id").as_string()).ends_with("@mx.test.example"));

    auto m = f.call("GET", "/v1/messages/" + id, f.alice_token, "");
    REQUIRE(m.status == 200);
    auto md = json::parse(m.body);
    CHECK(md.at("subject").as_string() == "Grüße");
    CHECK(md.at("authentication").is_null());
    CHECK(md.at("html").as_string() == "<p>hi</p>");

    auto raw = f.call("GET", "/v1/messages/" + id + "/raw", f.alice_token, "");
    CHECK(raw.body.find("hidden@far.example") == std::string::npos);

    auto d = f.call("GET", "/v1/messages/" + id + "/deliveries", f.alice_token, "");
    REQUIRE(d.status == 200);
    auto dd = json::parse(d.body);
    REQUIRE(dd.at("data").as_array().size() == 3);
    for (const auto& x : dd.at("data").as_array()) {
        CHECK(x.at("state").as_string() == "queued");
        CHECK(x.at("attempts").as_int64() == 0);
        CHECK(x.at("next_attempt_at").is_string());
    }
    // Bob's token sees neither.
    std::string bob_token =
        must(storage::create_token(*f.db, f.tenant.id, f.bob.id, {"read"}, std::nullopt)).secret;
    CHECK(f.call("GET", "/v1/messages/" + id + "/deliveries", bob_token, "").status == 404);
    // Nor may Bob's sending token use Alice's mailbox.
    std::string bob_send =
        must(storage::create_token(*f.db, f.tenant.id, f.bob.id, {"email:send"}, std::nullopt))
            .secret;
    CHECK(f.call("POST", "/v1/mailboxes/alice@example.com/messages", bob_send,
                 R"({"to": "x@far.example"})")
              .status == 404);
}

TEST_CASE("bad input queues nothing and names the field", "[apid][send]") {
    SendFixture f(false, 2000);
    auto before = f.count("deliveries");
    auto r = f.send(R"({"to": ["ok@far.example", "nope"]})");
    CHECK(r.status == 422);
    CHECK(error_fields(r) == std::vector<std::string>{"to[1]"});
    r = f.send(R"({"subject": "x"})");
    CHECK(r.status == 422);
    CHECK(error_fields(r) == std::vector<std::string>{"to"});
    r = f.send(R"({"to": "a@far.example", "headers": {"Content-Type": "text/evil"}})");
    CHECK(r.status == 422);
    CHECK(error_fields(r) == std::vector<std::string>{"headers.Content-Type"});
    r = f.send(R"({"to": "a@far.example", "cc": [{"address": "bad"}]})");
    CHECK(r.status == 422);
    CHECK(error_fields(r) == std::vector<std::string>{"cc[0].address"});
    // Several mailboxes in one string are a list that was meant, not a name: never only the last.
    r = f.send(R"({"to": "Bob <a@far.example>, Eve <e@far.example>"})");
    CHECK(r.status == 422);
    CHECK(error_fields(r) == std::vector<std::string>{"to"});
    r = f.send(R"({"to": "a@near.example <e@far.example>", "cc": "x; y <y@far.example>"})");
    CHECK(r.status == 422);
    CHECK(error_fields(r) == std::vector<std::string>{"to", "cc"});
    r = f.send("{nope");
    CHECK(r.status == 400);
    CHECK(r.body.find("is not valid JSON") != std::string::npos);
    // A name twice in one object, even nested: which one counts is not for us to guess.
    r = f.send(R"({"to": "a@far.example", "subject": "one", "subject": "two"})");
    CHECK(r.status == 400);
    CHECK(error_fields(r) == std::vector<std::string>{"body"});
    CHECK(r.body.find(R"(names \"subject\" twice)") != std::string::npos);
    r = f.send(
        R"({"to": "a@far.example", "cc": [{"address": "b@far.example", "address": "c@x"}]})");
    CHECK(r.status == 400);
    CHECK(error_fields(r) == std::vector<std::string>{"body"});
    CHECK(r.body.find(R"(names \"address\" twice)") != std::string::npos);
    r = f.send(R"({"to": "a@far.example", "subjet": "typo"})");
    CHECK(r.status == 400);
    CHECK(error_fields(r) == std::vector<std::string>{"subjet"});
    r = f.send(R"({"to": "a@far.example", "attachments": [{"content": "%%%"}]})");
    CHECK(r.status == 422);
    std::string big = base64_encode(std::string(3000, 'x'));
    r = f.send(R"({"to": "a@far.example", "attachments": [{"content": ")" + big + R"("}]})");
    CHECK(r.status == 413);
    CHECK(f.count("deliveries") == before);
    // The same name in two objects is fine.
    r = f.send(R"({"to": [{"address": "b@far.example"}], "cc": [{"address": "c@far.example"}]})");
    CHECK(r.status == 202);
    // A name with specials in it is fine quoted (RFC 5322 §3.2.3).
    r = f.send(R"({"to": "\"Doe, Jane (ops)\" <jane@far.example>"})");
    CHECK(r.status == 202);
    r = f.send(R"({"to": "a@far.example", "in_reply_to": "plain"})");  // no @: no Message-ID
    CHECK(r.status == 422);
    CHECK(error_fields(r) == std::vector<std::string>{"in_reply_to"});
    r = f.send(R"({"to": "a@far.example", "in_reply_to": "msg_nonexist"})");
    CHECK(r.status == 422);
    r = f.send(R"({"to": "a@far.example", "text": "a\rb"})");
    CHECK(r.status == 422);
    CHECK(error_fields(r) == std::vector<std::string>{"text"});
    r = f.send(R"({"to": "a@far.example", "text": "a\r\nb", "in_reply_to": "<x@far.example>"})");
    CHECK(r.status == 202);
    r = f.send(R"({"to": "a@far.example", "headers": {"X-Run": "1", "x-run": "2"}})");
    CHECK(r.status == 422);
    CHECK(error_fields(r) == std::vector<std::string>{"headers.x-run"});
}

TEST_CASE("an unverified domain may not send when the policy says so", "[apid][send]") {
    SendFixture f(true);
    auto r = f.send(R"({"to": "a@far.example", "text": "x"})");
    CHECK(r.status == 403);
    CHECK(r.body.find("example.com") != std::string::npos);
    CHECK(f.count("deliveries") == 0);
}

TEST_CASE("a database that is full answers 507 and keeps nothing", "[apid][send]") {
    SendFixture f;
    REQUIRE(f.send(R"({"to": "a@far.example", "text": "fits"})").status == 202);
    auto st = must(f.db->prepare("PRAGMA page_count"));
    REQUIRE(must(st.step()));
    const auto pages = st.int64(0);
    { auto done = std::move(st); }
    // SQLite's own size limit: the next pages the send needs are SQLITE_FULL.
    REQUIRE(f.db->exec("PRAGMA max_page_count=" + std::to_string(pages)));
    std::string big(60000, 'b');
    auto r = f.send(R"({"to": "b@far.example", "text": ")" + big + R"("})");
    CHECK(r.status == 507);
    CHECK(r.body.find("insufficient-storage") != std::string::npos);
    CHECK(f.count("messages") == 1);
    CHECK(f.count("deliveries") == 1);
}

TEST_CASE("Idempotency-Key returns the first response and sends once", "[apid][send]") {
    SendFixture f;
    std::string body = R"({"to": "once@far.example", "text": "x"})";
    auto a = f.send(body, "key-1");
    auto b = f.send(body, "key-1");
    REQUIRE(a.status == 202);
    CHECK(b.status == 202);
    CHECK(a.body == b.body);
    REQUIRE(b.header("Idempotent-Replayed"));
    CHECK(f.count("deliveries") == 1);
    auto c = f.send(R"({"to": "once@far.example", "text": "y"})", "key-1");
    CHECK(c.status == 409);
    CHECK(f.count("deliveries") == 1);
    CHECK(f.send(body, "key-2").status == 202);
    CHECK(f.count("deliveries") == 2);
    CHECK(f.send(body, std::string(300, 'k')).status == 400);
}

TEST_CASE("reply threads onto the original; reply_all leaves this mailbox out", "[apid][send]") {
    SendFixture f;
    std::string raw =
        "From: Carol <carol@remote.example>\r\nTo: alice@example.com, dave@remote.example\r\n"
        "Subject: Plan\r\nMessage-ID: <p2@remote.example>\r\nReferences: <p1@remote.example>\r\n"
        "\r\nhello\r\n";
    auto ids = f.deliver(raw, {&f.alice});
    auto r = f.call("POST", "/v1/messages/" + ids[0] + "/reply", f.send_token,
                    R"({"text": "yes", "reply_all": true})");
    REQUIRE(r.status == 202);
    auto doc = json::parse(r.body);
    std::vector<std::string> rcpts;
    for (const auto& d : doc.at("deliveries").as_array())
        rcpts.emplace_back(d.at("recipient").as_string());
    std::sort(rcpts.begin(), rcpts.end());
    CHECK(rcpts == std::vector<std::string>{"carol@remote.example", "dave@remote.example"});
    auto sent =
        f.call("GET", "/v1/messages/" + std::string(doc.at("id").as_string()), f.alice_token, "");
    auto sd = json::parse(sent.body);
    CHECK(sd.at("subject").as_string() == "Re: Plan");
    CHECK(sd.at("in_reply_to").as_string() == "p2@remote.example");
    CHECK(sd.at("references").as_array().size() == 2);

    auto fwd = f.call("POST", "/v1/messages/" + ids[0] + "/forward", f.send_token,
                      R"({"to": "boss@far.example", "text": "fyi"})");
    REQUIRE(fwd.status == 202);
    auto fd = json::parse(
        f.call("GET", "/v1/messages/" + std::string(json::parse(fwd.body).at("id").as_string()),
               f.alice_token, "")
            .body);
    CHECK(fd.at("subject").as_string() == "Fwd: Plan");
    REQUIRE(fd.at("attachments").as_array().size() == 1);
    CHECK(fd.at("attachments").as_array()[0].at("content_type").as_string() == "message/rfc822");
}

TEST_CASE("message JSON carries the stored authentication results", "[apid][auth]") {
    SendFixture f;
    storage::InboundMessage m;
    m.raw = simple_message("Checked", "alice@example.com");
    m.envelope_from = "sender@remote.example";
    m.recipients.push_back({f.alice.id, f.alice.tenant_id, f.alice.address});
    m.summary = must(mime::summarize(m.raw));
    m.received_at = now_ms();
    m.flags = {"junk"};
    m.auth_json =
        R"({"spf":{"result":"pass"},"dkim":[],"dmarc":{"result":"fail"},"action":"quarantine"})";
    auto tx = must(storage::Transaction::begin(*f.db));
    auto ids = must(storage::store_inbound(*f.db, m));
    must(tx.commit());
    auto r = f.call("GET", "/v1/messages/" + ids[0], f.alice_token, "");
    REQUIRE(r.status == 200);
    auto doc = json::parse(r.body);
    CHECK(doc.at("authentication").at("spf").at("result").as_string() == "pass");
    CHECK(doc.at("authentication").at("action").as_string() == "quarantine");
    CHECK(doc.at("flags").as_array()[0].as_string() == "junk");
    auto list = json::parse(
        f.call("GET", "/v1/mailboxes/alice@example.com/messages", f.alice_token, "").body);
    CHECK(list.at("data").as_array()[0].at("authentication").is_object());
}

TEST_CASE("domain routes: admin creates, mailbox tokens get 403", "[apid][domains]") {
    SendFixture f;
    auto r = f.call("POST", "/v1/domains", f.admin_token,
                    R"({"name": "Agents.Example.ORG", "dkim_selector": "agent"})");
    REQUIRE(r.status == 201);
    auto doc = json::parse(r.body);
    CHECK(doc.at("name").as_string() == "agents.example.org");
    CHECK(doc.at("records").as_array().size() == 6);
    CHECK(r.body.find("PRIVATE") == std::string::npos);
    std::string id(doc.at("id").as_string());
    auto zone = f.call("GET", "/v1/domains/" + id + "/records?format=zone", f.admin_token, "");
    CHECK(zone.status == 200);
    CHECK(zone.content_type.starts_with("text/plain"));
    CHECK(zone.body.find("_postern-verify.agents.example.org.") != std::string::npos);
    CHECK(zone.body.find("agent-ed25519._domainkey") != std::string::npos);
    CHECK(f.call("GET", "/v1/domains/" + id + "/records?format=xml", f.admin_token, "").status ==
          400);
    CHECK(
        f.call("POST", "/v1/domains", f.admin_token, R"({"name": "agents.example.org"})").status ==
        409);
    CHECK(f.call("POST", "/v1/domains", f.admin_token, R"({"name": "1.2.3.4"})").status == 422);
    CHECK(f.call("POST", "/v1/domains", f.admin_token, R"({"name": "xn--zz.example"})").status ==
          422);
    CHECK(f.call("POST", "/v1/domains", f.admin_token, R"({"name": "x", "dkim_selector": "A"})")
              .status == 422);
    auto list = json::parse(f.call("GET", "/v1/domains", f.admin_token, "").body);
    CHECK(list.at("data").as_array().size() == 2);  // the fixture's example.com too
    // verify takes no fields: an unknown one is 400 before any lookup.
    auto verify = f.call("POST", "/v1/domains/" + id + "/verify", f.admin_token, R"({"x": 1})");
    CHECK(verify.status == 400);
    CHECK(verify.body.find("is not a field of this request") != std::string::npos);
    CHECK(f.call("POST", "/v1/domains/" + id + "/verify", f.admin_token, "[]").status == 400);
    CHECK(f.call("GET", "/v1/domains", f.mailbox_admin, "").status == 403);
    CHECK(f.call("POST", "/v1/domains", f.mailbox_admin, R"({"name": "y.example"})").status == 403);
    CHECK(f.call("GET", "/v1/domains/" + id, f.send_token, "").status == 403);
    // The creation wrote its event in the same transaction.
    auto st = must(f.db->prepare("SELECT count(*) FROM events WHERE type = 'domain.created'"));
    REQUIRE(must(st.step()));
    CHECK(st.int64(0) == 1);
}
