// Api::handle end to end against a temporary database: routing, auth, scopes, isolation,
// pagination and every route's JSON. No sockets.
#include <catch2/catch.hpp>
#include <set>

#include "fixture.hpp"

using namespace postern::api;
using postern::api::test::Fixture;
using postern::api::test::simple_message;
namespace json = boost::json;

namespace {

const std::string kMultipart =
    "From: =?UTF-8?Q?Jos=C3=A9?= <jose@remote.example>\r\n"
    "To: Alice <alice@example.com>\r\n"
    "Cc: bob@example.com\r\n"
    "Reply-To: replies@remote.example\r\n"
    "Subject: =?UTF-8?B?Q2Fmw6kgcmVwb3J0?=\r\n"
    "Date: Sun, 22 Nov 2026 08:03:46 +0000\r\n"
    "Message-ID: <m1@remote.example>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
    "\r\n"
    "--b1\r\n"
    "Content-Type: text/plain; charset=iso-8859-1\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "Caf=E9 au lait\r\n"
    "--b1\r\n"
    "Content-Type: application/octet-stream\r\n"
    "Content-Disposition: attachment; filename=\"data.bin\"\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "AAEC/w==\r\n"
    "--b1--\r\n";

std::string attachment_path(const std::string& id, int n) {
    return "/v1/messages/" + id + "/attachments/" + std::to_string(n);
}

}  // namespace

TEST_CASE("api: public routes need no token", "[apid][api]") {
    Fixture f;
    auto h = f.get("/healthz", std::nullopt);
    CHECK(h.status == 200);
    CHECK(h.body == R"({"status":"ok"})");
    auto o = f.get("/openapi.json", std::nullopt);
    CHECK(o.status == 200);
    CHECK(o.content_type == "application/json");
    CHECK(Fixture::body(o).at("openapi").as_string() == "3.1.0");
}

TEST_CASE("api: 401, 403, 404, 405 before any handler runs", "[apid][api]") {
    Fixture f;
    auto missing = f.get("/v1/mailboxes", std::nullopt);
    CHECK(missing.status == 401);
    CHECK(*missing.header("WWW-Authenticate") == R"(Bearer realm="postern")");
    CHECK(missing.content_type == "application/problem+json");

    auto bad = f.get("/v1/mailboxes", std::string("pst_notatoken"));
    CHECK(bad.status == 401);
    CHECK(*bad.header("WWW-Authenticate") == R"(Bearer realm="postern", error="invalid_token")");

    auto forbidden = f.get("/v1/mailboxes", f.send_token);
    CHECK(forbidden.status == 403);
    CHECK(Fixture::body(forbidden).at("detail").as_string().find("email:read") !=
          json::string::npos);
    CHECK(f.get("/v1/me", f.send_token).status == 200);  // any valid token may ask

    CHECK(f.get("/v1/nothing", f.alice_token).status == 404);
    auto post = f.get("/v1/me", f.alice_token, "POST");
    CHECK(post.status == 405);
    CHECK(*post.header("Allow") == "GET, HEAD");
    // The query is checked after auth: an unauthenticated client learns nothing more.
    CHECK(f.get("/v1/mailboxes?bogus=1", std::nullopt).status == 401);
    CHECK(f.get("/v1/mailboxes?bogus=1", f.alice_token).status == 400);
}

TEST_CASE("api: /v1/me describes the token", "[apid][api]") {
    Fixture f;
    auto r = f.get("/v1/me", f.alice_token);
    REQUIRE(r.status == 200);
    auto me = Fixture::body(r);
    CHECK(me.at("tenant_id").as_string() == f.tenant.id);
    CHECK(me.at("token_id").as_string() == f.alice_token_id);
    CHECK(me.at("mailbox").at("id").as_string() == f.alice.id);
    CHECK(me.at("mailbox").at("address").as_string() == "alice@example.com");
    CHECK(me.at("scopes").as_array().size() == 1);
    CHECK(me.at("expires_at").is_null());
    std::set<std::string> routes;
    for (const auto& x : me.at("routes").as_array())
        routes.insert(std::string(x.at("method").as_string()) + " " +
                      std::string(x.at("path").as_string()));
    CHECK(routes.count("GET /v1/messages/{id}") == 1);
    CHECK(routes.count("GET /v1/messages/{id}/deliveries") == 1);
    CHECK(routes.size() == 11);

    auto send = Fixture::body(f.get("/v1/me", f.send_token));
    // healthz, openapi.json, me, and send, reply, forward
    CHECK(send.at("routes").as_array().size() == 6);
    auto tenant = Fixture::body(f.get("/v1/me", f.tenant_token));
    CHECK(tenant.at("mailbox").is_null());
}

TEST_CASE("api: mailbox-bound tokens see only their mailbox", "[apid][api]") {
    Fixture f;
    auto to_alice = f.deliver(simple_message("for alice", "alice@example.com"), {&f.alice});
    auto to_bob = f.deliver(simple_message("for bob", "bob@example.com"), {&f.bob});

    auto mine = Fixture::body(f.get("/v1/mailboxes", f.alice_token));
    REQUIRE(mine.at("data").as_array().size() == 1);
    CHECK(mine.at("data").as_array()[0].at("id").as_string() == f.alice.id);
    auto all = Fixture::body(f.get("/v1/mailboxes", f.tenant_token));
    CHECK(all.at("data").as_array().size() == 2);

    auto bob_msg = Fixture::body(f.get("/v1/messages/" + to_bob[0], f.tenant_token));
    std::string bob_thread(bob_msg.at("thread_id").as_string());
    for (const std::string& path : std::vector<std::string>{
             "/v1/mailboxes/" + f.bob.id + "/messages", "/v1/mailboxes/bob@example.com/messages",
             "/v1/mailboxes/" + f.bob.id + "/threads", "/v1/messages/" + to_bob[0],
             "/v1/messages/" + to_bob[0] + "/raw", attachment_path(to_bob[0], 0),
             "/v1/threads/" + bob_thread}) {
        INFO(path);
        auto r = f.get(path, f.alice_token);
        CHECK(r.status == 404);
        CHECK(r.content_type == "application/problem+json");
    }
    CHECK(f.get("/v1/messages/" + to_alice[0], f.alice_token).status == 200);
    CHECK(f.get("/v1/messages/" + to_bob[0], f.tenant_token).status == 200);
    CHECK(f.get("/v1/messages/msg_nonexistent", f.alice_token).status == 404);
    CHECK(f.get("/v1/mailboxes/nobody@example.com/messages", f.tenant_token).status == 404);
}

TEST_CASE("api: message lists page newest first without gaps", "[apid][api]") {
    Fixture f;
    std::vector<std::string> ids;
    for (int i = 0; i < 7; ++i)
        ids.push_back(
            f.deliver(simple_message("m" + std::to_string(i), "alice@example.com"), {&f.alice})[0]);
    std::vector<std::string> seen;
    std::string target = "/v1/mailboxes/alice%40example.com/messages?limit=3";
    for (int page = 0; page < 5; ++page) {
        auto r = f.get(target, f.alice_token);
        REQUIRE(r.status == 200);
        auto b = Fixture::body(r);
        for (const auto& m : b.at("data").as_array()) seen.emplace_back(m.at("id").as_string());
        if (b.at("next_cursor").is_null()) break;
        target = "/v1/mailboxes/" + f.alice.id +
                 "/messages?limit=3&cursor=" + std::string(b.at("next_cursor").as_string());
    }
    std::vector<std::string> expected(ids.rbegin(), ids.rend());
    CHECK(seen == expected);

    auto bad = f.get("/v1/mailboxes/" + f.alice.id + "/messages?cursor=garbage", f.alice_token);
    CHECK(bad.status == 400);
    CHECK(Fixture::body(bad).at("errors").as_array()[0].at("field").as_string() == "cursor");
    CHECK(f.get("/v1/mailboxes/" + f.alice.id + "/messages?limit=0", f.alice_token).status == 400);
    CHECK(f.get("/v1/mailboxes/" + f.alice.id + "/messages?limit=501", f.alice_token).status ==
          400);
    CHECK(f.get("/v1/mailboxes/" + f.alice.id + "/threads?cursor=garbage", f.alice_token).status ==
          400);
}

TEST_CASE("api: a message in full, raw and its attachment", "[apid][api]") {
    Fixture f;
    auto id = f.deliver(kMultipart, {&f.alice})[0];
    auto r = f.get("/v1/messages/" + id, f.alice_token);
    REQUIRE(r.status == 200);
    auto m = Fixture::body(r);
    CHECK(m.at("subject").as_string() == "Caf\xC3\xA9 report");
    CHECK(m.at("from").at("name").as_string() == "Jos\xC3\xA9");
    CHECK(m.at("from").at("address").as_string() == "jose@remote.example");
    CHECK(m.at("cc").as_array()[0].at("address").as_string() == "bob@example.com");
    CHECK(m.at("reply_to").as_array()[0].at("address").as_string() == "replies@remote.example");
    CHECK(m.at("message_id").as_string() == "m1@remote.example");
    CHECK(m.at("date").as_string() == "2026-11-22T08:03:46Z");
    CHECK(std::string_view(m.at("text").as_string()).find("Caf\xC3\xA9 au lait") !=
          std::string_view::npos);
    CHECK(m.at("html").is_null());
    CHECK(m.at("has_attachments").as_bool());
    auto& atts = m.at("attachments").as_array();
    REQUIRE(atts.size() == 1);
    CHECK(atts[0].at("filename").as_string() == "data.bin");
    CHECK(atts[0].at("size").to_number<int>() == 4);

    auto raw = f.get("/v1/messages/" + id + "/raw", f.alice_token);
    CHECK(raw.status == 200);
    CHECK(raw.content_type == "message/rfc822");
    CHECK(raw.body == kMultipart);

    auto att = f.get(attachment_path(id, 0), f.alice_token);
    CHECK(att.status == 200);
    CHECK(att.body == std::string("\x00\x01\x02\xff", 4));
    CHECK(att.content_type == "application/octet-stream");
    CHECK(*att.header("Content-Disposition") ==
          "attachment; filename=\"data.bin\"; filename*=UTF-8''data.bin");
    CHECK(f.get(attachment_path(id, 1), f.alice_token).status == 404);
    CHECK(f.get("/v1/messages/" + id + "/attachments/x", f.alice_token).status == 400);
    CHECK(f.get("/v1/messages/" + id + "/attachments/-1", f.alice_token).status == 400);
}

TEST_CASE("api: threads list and a thread with its messages oldest first", "[apid][api]") {
    Fixture f;
    auto first =
        f.deliver(simple_message("Plan", "alice@example.com", "p1@remote.example"), {&f.alice})[0];
    auto second = f.deliver(
        simple_message("Re: Plan", "alice@example.com", "p2@remote.example", "p1@remote.example"),
        {&f.alice})[0];
    f.deliver(simple_message("Other", "alice@example.com"), {&f.alice});

    auto list = Fixture::body(f.get("/v1/mailboxes/" + f.alice.id + "/threads", f.alice_token));
    auto& threads = list.at("data").as_array();
    REQUIRE(threads.size() == 2);
    CHECK(threads[0].at("subject").as_string() == "Other");  // most recently active first
    std::string tid(threads[1].at("id").as_string());
    CHECK(threads[1].at("message_count").as_int64() == 2);
    CHECK(threads[1].at("last_message_id").as_string() == second);

    auto t = Fixture::body(f.get("/v1/threads/" + tid, f.alice_token));
    auto& msgs = t.at("messages").as_array();
    REQUIRE(msgs.size() == 2);
    CHECK(msgs[0].at("id").as_string() == first);
    CHECK(msgs[1].at("id").as_string() == second);

    auto filtered = Fixture::body(
        f.get("/v1/mailboxes/" + f.alice.id + "/messages?thread_id=" + tid, f.alice_token));
    CHECK(filtered.at("data").as_array().size() == 2);
}

TEST_CASE("api: revoked and expired tokens get 401", "[apid][api]") {
    Fixture f;
    REQUIRE(f.get("/v1/me", f.alice_token).status == 200);
    REQUIRE(postern::storage::revoke_token(*f.db, f.tenant.id, f.alice_token_id));
    f.now += 6000;  // past the 5 s token cache
    auto r = f.get("/v1/me", f.alice_token);
    CHECK(r.status == 401);
    CHECK(*r.header("WWW-Authenticate") == R"(Bearer realm="postern", error="invalid_token")");

    auto t = postern::api::test::must(postern::storage::create_token(
        *f.db, f.tenant.id, f.alice.id, {"read"}, std::nullopt, f.now - 1));
    auto e = f.get("/v1/me", t.secret);
    CHECK(e.status == 401);
    CHECK(Fixture::body(e).at("detail").as_string().find("expired") != json::string::npos);
}
