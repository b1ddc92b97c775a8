// Connex through Api::handle: key kinds, scopes, the session stand-in, rate limits, quotas,
// body limits, and the self-describing routes. No sockets.
#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

#include "connex_fixture.hpp"

using namespace postern::api;
using postern::api::test::ConnexFixture;
using postern::api::test::event_body;
namespace json = boost::json;

TEST_CASE("connex: keys are cxk_live_, tenant-wide, Connex scopes only", "[apid][connex]") {
    ConnexFixture f;
    CHECK(f.key.starts_with("cxk_live_"));
    CHECK(f.key.size() == 9 + 43);  // 256 bits in unpadded base64url
    CHECK(f.alice_token.starts_with("pst_"));
    using postern::storage::create_token;
    CHECK_FALSE(create_token(*f.db, f.tenant.id, f.alice.id, {"status:evaluate"}, std::nullopt,
                             std::nullopt, "connex"));  // no mailbox binding
    CHECK_FALSE(create_token(*f.db, f.tenant.id, std::nullopt, {"email:read"}, std::nullopt,
                             std::nullopt, "connex"));  // not a Connex scope
    CHECK_FALSE(create_token(*f.db, f.tenant.id, std::nullopt, {"status:evaluate"}, std::nullopt));
    CHECK_FALSE(create_token(*f.db, f.tenant.id, std::nullopt, {"read"}, std::nullopt, std::nullopt,
                             "other"));
    // Stored hashed: the secret is nowhere in the database.
    CHECK(f.count("SELECT count(*) FROM tokens WHERE token_hash = '" + f.key + "'") == 0);
    CHECK(f.count("SELECT count(*) FROM tokens WHERE kind = 'connex'") == 2);
}

TEST_CASE("connex: 401 without a valid key, 403 without the scope", "[apid][connex]") {
    ConnexFixture f;
    const std::string route = "/api/connex/integration-event";
    auto missing = f.post(route, std::nullopt, event_body("e1"));
    CHECK(missing.status == 401);
    CHECK(missing.content_type == "application/problem+json");
    CHECK(f.post(route, std::string("cxk_live_nope"), event_body("e1")).status == 401);
    // A Postern token is not a Connex key, and a Connex key is not a Postern token.
    CHECK(f.post(route, f.tenant_token, event_body("e1")).status == 401);
    CHECK(f.post(route, f.admin, event_body("e1")).status == 401);
    CHECK(f.call(f.api, "GET", "/v1/mailboxes", f.key).status == 401);
    CHECK(f.call(f.api, "GET", "/v1/me", f.key).status == 401);

    // Expired and revoked keys.
    auto expired = postern::api::test::must(postern::storage::create_token(
        *f.db, f.tenant.id, std::nullopt, {"status:evaluate"}, std::nullopt, f.now - 1, "connex"));
    CHECK(f.post(route, expired.secret, event_body("e1")).status == 401);

    // A key without status:evaluate (today's creation paths cannot make one; a row can hold one).
    REQUIRE(f.db->exec("UPDATE tokens SET scopes = 'connex:none' WHERE id = '" + f.key_id + "'"));
    f.api.authenticator().clear_cache();
    auto forbidden = f.post(route, f.key, event_body("e1"));
    CHECK(forbidden.status == 403);
    CHECK(forbidden.body.find("status:evaluate") != std::string::npos);
    CHECK(f.post("/api/connex/key-check", f.key).status == 200);  // any valid key may check
    for (const char* r : {"/api/connex/status", "/api/connex/integration-outcome",
                          "/api/connex/integration-insights", "/api/connex/trust"})
        CHECK(f.post(r, f.key, "{}").status == 403);
}

TEST_CASE("connex: an admin token stands in for the session", "[apid][connex]") {
    ConnexFixture f;
    CHECK(f.call(f.api, "GET", "/api/connex/service-keys", f.admin).status == 200);
    CHECK(f.call(f.api, "GET", "/api/connex/service-keys", f.key).status == 401);
    CHECK(f.call(f.api, "GET", "/api/connex/service-keys", f.tenant_token).status == 403);
    CHECK(f.call(f.api, "GET", "/api/connex/service-keys", f.mailbox_admin).status == 403);
    CHECK(f.call(f.api, "GET", "/api/connex/intelligence", std::nullopt).status == 401);
    // POST /api/connex/status takes either a key or the session.
    std::string status_body =
        R"({"app": "a", "message": {"subject": "pricing", "body": "how much?"}})";
    CHECK(f.post("/api/connex/status", f.key, status_body).status == 200);
    CHECK(f.post("/api/connex/status", f.admin, status_body).status == 200);
    CHECK(f.post("/api/connex/status", f.tenant_token, status_body).status == 403);

    auto created = f.post("/api/connex/service-keys", f.admin, R"({"label": "ci"})");
    REQUIRE(created.status == 200);
    auto body = json::parse(created.body);
    std::string secret(body.at("key").as_string());
    CHECK(secret.starts_with("cxk_live_"));
    CHECK(body.at("record").at("label") == "ci");
    CHECK(f.post("/api/connex/key-check", secret).status == 200);
    auto list = json::parse(f.call(f.api, "GET", "/api/connex/service-keys", f.admin).body);
    CHECK(list.at("keys").as_array().size() == 2);
    CHECK(list.as_object().at("keys").as_array()[0].as_object().contains("hint"));
    CHECK(f.call(f.api, "GET", "/api/connex/service-keys", f.admin).body.find(secret) ==
          std::string::npos);
    CHECK(f.post("/api/connex/service-keys", f.admin, R"({"scopes": ["email:read"]})").status ==
          400);
    // Labels go to `postern token list`: no control characters. Unknown fields are refused.
    for (const char* bad : {R"({"label": "a\u0000b"})", R"({"label": "x\n evil"})",
                            R"({"label": "\u001b[31mred"})", R"({"label": "ok", "bogus": 1})"})
        CHECK(f.post("/api/connex/service-keys", f.admin, bad).status == 400);
    CHECK(f.count("SELECT count(*) FROM audit_log WHERE action = 'token.create'") == 1);
    // A scope named twice is held once.
    auto twice = f.post("/api/connex/service-keys", f.admin,
                        R"({"scopes": ["status:evaluate", "status:evaluate"]})");
    REQUIRE(twice.status == 200);
    CHECK(json::parse(twice.body).at("record").at("scopes").as_array().size() == 1);
}

TEST_CASE("connex: per-tenant rate limit and daily quota answer 429 with Retry-After",
          "[apid][connex]") {
    ConnexFixture f;
    ApiOptions o;
    o.connex.tenant_rate_per_second = 1;
    o.connex.tenant_burst = 2;
    Api limited(o);
    const std::string route = "/api/connex/trust";
    CHECK(f.call(limited, "POST", route, f.key).status == 200);
    CHECK(f.call(limited, "POST", route, f.key).status == 200);
    auto over = f.call(limited, "POST", route, f.key);
    CHECK(over.status == 429);
    REQUIRE(over.header("Retry-After"));
    CHECK(*over.header("Retry-After") == "1");
    // Another tenant has its own bucket; time refills this one.
    CHECK(f.call(limited, "POST", route, f.other_key).status == 200);
    f.now += 1000;
    CHECK(f.call(limited, "POST", route, f.key).status == 200);
    // Unauthenticated requests are refused before they can drain a tenant's bucket.
    CHECK(f.call(limited, "POST", route, std::nullopt).status == 401);

    ApiOptions q;
    q.connex.tenant_daily_events = 2;
    Api quota(q);
    CHECK(f.call(quota, "POST", "/api/connex/integration-event", f.key, event_body("q1")).status ==
          200);
    CHECK(f.call(quota, "POST", "/api/connex/integration-event", f.key, event_body("q2")).status ==
          200);
    auto out = f.call(quota, "POST", "/api/connex/integration-event", f.key, event_body("q3"));
    CHECK(out.status == 429);
    CHECK(std::stoll(*out.header("Retry-After")) >= 1);
    // A replay is not a new event: it does not count.
    CHECK(f.call(quota, "POST", "/api/connex/integration-event", f.key, event_body("q1")).status ==
          200);
    // A restarted daemon counts what storage holds for today.
    Api restarted(q);
    CHECK(f.call(restarted, "POST", "/api/connex/integration-event", f.key, event_body("q4"))
              .status == 429);
}

TEST_CASE("connex: preview is public, per-IP limited, bounded, never stored", "[apid][connex]") {
    ConnexFixture f;
    ApiOptions o;
    o.connex.ip_rate_per_second = 1;
    o.connex.ip_burst = 2;
    o.connex.preview_max_body_bytes = 2048;
    Api api(o);
    const std::string route = "/api/connex/integration-preview";
    auto ok = f.call(api, "POST", route, std::nullopt, event_body(""), "198.51.100.7");
    REQUIRE(ok.status == 200);
    CHECK(ok.body.find("Can you confirm terms") == std::string::npos);  // never echoes the body
    CHECK(json::parse(ok.body).at("persistence").at("persisted") == false);
    CHECK(f.call(api, "POST", route, std::nullopt, "{", "198.51.100.7").status == 400);
    auto limited = f.call(api, "POST", route, std::nullopt, event_body(""), "198.51.100.7");
    CHECK(limited.status == 429);
    CHECK(limited.header("Retry-After"));
    CHECK(f.call(api, "POST", route, std::nullopt, event_body(""), "198.51.100.8").status == 200);
    std::string big = event_body("", std::string(3000, 'x'));
    CHECK(f.call(api, "POST", route, std::nullopt, big, "198.51.100.9").status == 413);
    CHECK(f.call(api, "POST", route, std::nullopt, R"({"app": "x"})", "198.51.100.9").status ==
          400);
    CHECK(f.count("SELECT count(*) FROM connex_events") == 0);
}

TEST_CASE("connex: bodies over the limit are 413, malformed ones 400 with errors",
          "[apid][connex]") {
    ConnexFixture f;
    ApiOptions o;
    o.connex.max_body_bytes = 4096;
    Api api(o);
    const std::string route = "/api/connex/integration-event";
    CHECK(f.call(api, "POST", route, f.key, event_body("big", std::string(5000, 'y'))).status ==
          413);
    auto bad = f.call(api, "POST", route, f.key, R"({"app": 5, "message": {"subject": "s"}})");
    CHECK(bad.status == 400);
    auto errors = json::parse(bad.body).at("errors").as_array();
    CHECK(errors.size() >= 2);
    CHECK(f.call(api, "POST", route, f.key, "[1]").status == 400);
    CHECK(f.call(api, "POST", route, f.key, "\"\xff\"").status == 400);  // not UTF-8
    CHECK(f.call(api, "POST", route, f.key, "").status == 400);
    CHECK(f.call(api, "POST", route, f.key,
                 event_body("m", "x", R"(, "applyMode": "send_everything")"))
              .status == 400);
}

TEST_CASE("connex: discovery, contract and describing GETs", "[apid][connex]") {
    ConnexFixture f;
    auto d = f.call(f.api, "GET", "/.well-known/connex-agent", std::nullopt);
    REQUIRE(d.status == 200);
    auto doc = json::parse(d.body);
    CHECK(doc.at("openapi") == "/api/connex/openapi");
    bool listed = false;
    for (const auto& e : doc.at("endpoints").as_array())
        if (e.at("path") == "/api/connex/integration-event" && e.at("method") == "POST")
            listed = e.at("auth") == "serviceKey" && e.at("scope") == "status:evaluate";
    CHECK(listed);
    auto c = f.call(f.api, "GET", "/api/connex/openapi", std::nullopt);
    CHECK(c.status == 200);
    CHECK(c.body == connex_openapi_document());
    for (const char* p :
         {"/api/connex/status", "/api/connex/key-check", "/api/connex/integration-event",
          "/api/connex/integration-preview", "/api/connex/integration-outcome",
          "/api/connex/integration-insights", "/api/connex/trust"}) {
        INFO(p);
        auto r = f.call(f.api, "GET", p, std::nullopt);
        REQUIRE(r.status == 200);
        CHECK(json::parse(r.body).at("endpoint").as_string() == std::string("POST ") + p);
    }
    auto reasoning = json::parse(f.call(f.api, "GET", "/api/connex/reasoning", std::nullopt).body);
    CHECK(reasoning.at("type") == "connex.reasoning.status");
    CHECK(reasoning.at("status").at("liveCallsEnabled") == false);

    auto kc = json::parse(f.post("/api/connex/key-check", f.key).body);
    CHECK(kc.at("caller").at("type") == "service_key");
    CHECK(kc.at("caller").at("tenantId").as_string() == f.tenant.id);
    CHECK(kc.at("caller").at("id").as_string() == f.key_id);
    CHECK(f.post("/api/connex/key-check", f.key).body.find(f.key) == std::string::npos);
}

TEST_CASE("connex: PATCH /v1/mailboxes/{mailbox} sets auto-evaluation", "[apid][connex]") {
    ConnexFixture f;
    const std::string path = "/v1/mailboxes/alice@example.com";
    auto on = f.call(f.api, "PATCH", path, f.admin, R"({"connex_auto_evaluate": true})");
    REQUIRE(on.status == 200);
    CHECK(json::parse(on.body).at("connex_auto_evaluate") == true);
    CHECK(f.count("SELECT connex_auto_evaluate FROM mailbox_settings") == 1);
    CHECK(
        f.call(f.api, "PATCH", path, f.tenant_token, R"({"connex_auto_evaluate": true})").status ==
        403);
    CHECK(
        f.call(f.api, "PATCH", path, f.mailbox_admin, R"({"connex_auto_evaluate": true})").status ==
        403);
    CHECK(f.call(f.api, "PATCH", path, f.admin, R"({"connex_auto_evaluate": "yes"})").status ==
          400);
    CHECK(f.call(f.api, "PATCH", path, f.admin, R"({"colour": "red"})").status == 400);
    CHECK(f.call(f.api, "PATCH", path, f.admin, "{}").status == 400);
    CHECK(f.call(f.api, "PATCH", "/v1/mailboxes/nobody@example.com", f.admin,
                 R"({"connex_auto_evaluate": true})")
              .status == 404);
    auto list = json::parse(f.call(f.api, "GET", "/v1/mailboxes", f.tenant_token).body);
    for (const auto& m : list.at("data").as_array())
        CHECK(m.at("connex_auto_evaluate").as_bool() == (m.at("id").as_string() == f.alice.id));
    CHECK(f.count("SELECT count(*) FROM events WHERE type = 'mailbox.updated'") == 1);
    CHECK(f.count("SELECT count(*) FROM events WHERE type = 'mailbox.updated' AND "
                  "json_extract(data, '$.mailbox_id') = '" +
                  f.alice.id + "'") == 1);
    // The same value again: 200 with the mailbox, and no audit entry or event.
    auto again = f.call(f.api, "PATCH", path, f.admin, R"({"connex_auto_evaluate": true})");
    CHECK(again.status == 200);
    CHECK(json::parse(again.body).at("connex_auto_evaluate") == true);
    CHECK(f.count("SELECT count(*) FROM events WHERE type = 'mailbox.updated'") == 1);
    CHECK(f.count("SELECT count(*) FROM audit_log WHERE action = 'mailbox.update'") == 1);
}
