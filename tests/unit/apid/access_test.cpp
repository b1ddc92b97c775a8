// Walks the scope table against the router: no route may be served without a rule, no rule may
// name a route that does not exist, and only the routes meant to be public are.
#include "apid/access.hpp"

#include <algorithm>
#include <catch2/catch.hpp>

#include "apid/router.hpp"
#include "common/scopes.hpp"

using namespace postern::api;

TEST_CASE("every route has exactly one access rule", "[apid][access]") {
    for (const auto& r : routes()) {
        INFO(r.method << " " << r.pattern);
        auto n = std::count_if(access_table().begin(), access_table().end(), [&](const auto& a) {
            return a.method == r.method && a.pattern == r.pattern;
        });
        CHECK(n == 1);
        const AccessRule* rule = find_access(r.method, r.pattern);
        REQUIRE(rule);
        CHECK((rule->is_public() || rule->scope == kAuthenticated ||
               postern::is_known_scope(rule->scope)));
    }
}

TEST_CASE("every access rule names a served route", "[apid][access]") {
    Router router;
    for (const auto& a : access_table()) {
        INFO(a.method << " " << a.pattern);
        auto it = std::find_if(router.table().begin(), router.table().end(), [&](const Route& r) {
            return r.method == a.method && r.pattern == a.pattern;
        });
        CHECK(it != router.table().end());
    }
}

TEST_CASE("only /healthz and /openapi.json are public outside Connex", "[apid][access]") {
    std::vector<std::string_view> open;
    for (const auto& a : access_table())
        if (a.is_public() && !is_connex_route(a.pattern)) open.push_back(a.pattern);
    CHECK(open == std::vector<std::string_view>{"/healthz", "/openapi.json"});
}

TEST_CASE("Connex: public routes are the contract's, keyed routes need status:evaluate",
          "[apid][access][connex]") {
    std::vector<std::string> open;
    for (const auto& a : access_table()) {
        if (!is_connex_route(a.pattern)) continue;
        INFO(a.method << " " << a.pattern);
        if (a.is_public()) {
            open.push_back(std::string(a.method) + " " + std::string(a.pattern));
            continue;
        }
        if (a.credential == Credential::connex_key ||
            a.credential == Credential::connex_key_or_admin) {
            CHECK(a.rate == RateLimit::per_tenant);
            if (a.pattern != "/api/connex/key-check") CHECK(a.scope == "status:evaluate");
        } else {
            CHECK(a.credential == Credential::admin);
            CHECK(a.scope == "admin");
        }
    }
    // Every GET that describes a POST, discovery, the contract, reasoning, and the preview.
    CHECK(open == std::vector<std::string>{
                      "GET /.well-known/connex-agent", "GET /api/connex/openapi",
                      "GET /api/connex/status", "GET /api/connex/key-check",
                      "GET /api/connex/integration-event", "GET /api/connex/integration-preview",
                      "POST /api/connex/integration-preview", "GET /api/connex/integration-outcome",
                      "GET /api/connex/integration-insights", "GET /api/connex/trust",
                      "GET /api/connex/reasoning"});
    CHECK(find_access("POST", "/api/connex/integration-preview")->rate == RateLimit::per_ip);
    CHECK(find_access("GET", "/api/connex/reasoning")->rate == RateLimit::per_ip);
    // status:evaluate is a Connex scope: no mailbox bundle grants it.
    for (const char* bundle : {"read", "write", "full", "admin"})
        CHECK_FALSE(postern::scope_allows({bundle}, "status:evaluate"));
    CHECK(postern::is_known_scope("status:evaluate"));
}

TEST_CASE("mail read routes need email:read, which the bundles imply", "[apid][access]") {
    CHECK(find_access("PATCH", "/v1/mailboxes/{mailbox}")->scope == "admin");
    for (const auto& a : access_table()) {
        if (!a.pattern.starts_with("/v1/") || a.pattern == "/v1/me" || a.method != "GET" ||
            a.pattern.starts_with("/v1/domains"))
            continue;
        INFO(a.pattern);
        CHECK(a.scope == "email:read");
        CHECK(postern::scope_allows({"read"}, a.scope));
        CHECK(postern::scope_allows({"write"}, a.scope));
        CHECK(postern::scope_allows({"full"}, a.scope));
        CHECK_FALSE(postern::scope_allows({"email:send"}, a.scope));
        CHECK_FALSE(postern::scope_allows({"admin"}, a.scope));
    }
    CHECK(find_access("GET", "/v1/me")->scope == kAuthenticated);
    CHECK(find_access("POST", "/v1/me") == nullptr);
}

TEST_CASE("sending needs email:send; domains need a tenant-wide admin token", "[apid][access]") {
    for (const char* p : {"/v1/mailboxes/{mailbox}/messages", "/v1/messages/{id}/reply",
                          "/v1/messages/{id}/forward"}) {
        INFO(p);
        REQUIRE(find_access("POST", p));
        CHECK(find_access("POST", p)->scope == "email:send");
        CHECK(find_access("POST", p)->credential == Credential::token);
    }
    int domain_rules = 0;
    for (const auto& a : access_table()) {
        if (!a.pattern.starts_with("/v1/domains")) continue;
        INFO(a.method << " " << a.pattern);
        ++domain_rules;
        CHECK(a.scope == "admin");
        CHECK(a.credential == Credential::admin);
    }
    CHECK(domain_rules == 5);
}
