#include "apid/router.hpp"

#include <catch2/catch.hpp>

#include "apid/target.hpp"

using namespace postern::api;

namespace {
RouteMatch route(const Router& r, const std::string& method, const std::string& target) {
    auto t = parse_target(target);
    REQUIRE(t);
    return r.match(method, t->segments);
}
}  // namespace

TEST_CASE("router matches every route in its table", "[apid][router]") {
    Router router;
    // target, expected pattern, expected params (name=value)
    auto [target, pattern, param, value] =
        GENERATE(table<std::string, std::string, std::string, std::string>({
            {"/healthz", "/healthz", "", ""},
            {"/openapi.json", "/openapi.json", "", ""},
            {"/v1/me", "/v1/me", "", ""},
            {"/v1/mailboxes", "/v1/mailboxes", "", ""},
            {"/v1/mailboxes/mbx_01J0000000000000000000000A/messages",
             "/v1/mailboxes/{mailbox}/messages", "mailbox", "mbx_01J0000000000000000000000A"},
            {"/v1/mailboxes/alice%40example.com/messages?limit=5",
             "/v1/mailboxes/{mailbox}/messages", "mailbox", "alice@example.com"},
            {"/v1/mailboxes/alice@example.com/threads", "/v1/mailboxes/{mailbox}/threads",
             "mailbox", "alice@example.com"},
            {"/v1/mailboxes/a%2Fb/threads", "/v1/mailboxes/{mailbox}/threads", "mailbox", "a/b"},
            {"/v1/messages/msg_1", "/v1/messages/{id}", "id", "msg_1"},
            {"/v1/messages/msg_1/raw", "/v1/messages/{id}/raw", "id", "msg_1"},
            {"/v1/messages/msg_1/attachments/3", "/v1/messages/{id}/attachments/{n}", "n", "3"},
            {"/v1/threads/thr_9", "/v1/threads/{id}", "id", "thr_9"},
        }));
    auto m = route(router, "GET", target);
    REQUIRE(m.route);
    CHECK(m.route->pattern == pattern);
    if (!param.empty()) CHECK(m.params.get(param) == value);
    CHECK(m.allowed.empty());
}

TEST_CASE("router: unknown paths are 404, known paths with another method 405", "[apid][router]") {
    Router router;
    for (const char* t : {"/", "/v1", "/v1/me/", "/v1//me", "/v1/messages", "/v1/messages/",
                          "/v1/messages/x/attachments", "/V1/me", "/v2/me", "/healthz/x"}) {
        INFO(t);
        auto m = route(router, "GET", t);
        CHECK_FALSE(m.route);
        CHECK(m.allowed.empty());
    }
    for (const char* method : {"POST", "DELETE", "PUT", "PATCH", "HEAD", "get"}) {
        INFO(method);
        auto m = route(router, method, "/v1/messages/msg_1");
        CHECK_FALSE(m.route);
        REQUIRE(m.allowed.size() == 1);
        CHECK(m.allowed[0] == "GET");
    }
}

TEST_CASE("router: every pattern in the table is reachable and unambiguous", "[apid][router]") {
    Router router;
    for (const auto& r : routes()) {
        // Build a concrete path from the pattern: each {param} becomes "x".
        std::string path;
        std::string_view p = r.pattern;
        for (std::size_t i = 0; i < p.size();) {
            if (p[i] == '{') {
                path += "x";
                i = p.find('}', i) + 1;
            } else {
                path += p[i++];
            }
        }
        INFO(r.pattern << " via " << path);
        auto m = route(router, std::string(r.method), path);
        REQUIRE(m.route);
        CHECK(m.route == &r);
    }
}

TEST_CASE("parse_target decodes segments and query", "[apid][router]") {
    auto t = parse_target("/v1/a%20b/c?limit=10&cursor=abc%3D&x");
    REQUIRE(t);
    REQUIRE(t->segments == std::vector<std::string>{"v1", "a b", "c"});
    REQUIRE(t->query.size() == 3);
    CHECK(t->query[0] == std::pair<std::string, std::string>{"limit", "10"});
    CHECK(t->query[1] == std::pair<std::string, std::string>{"cursor", "abc="});
    CHECK(t->query[2].first == "x");
    auto absolute = parse_target("http://example.com/v1/me?limit=1");
    REQUIRE(absolute);
    CHECK(absolute->segments == std::vector<std::string>{"v1", "me"});
    CHECK(absolute->query.size() == 1);
    CHECK_FALSE(parse_target("ftp://example.com/v1/me"));
    CHECK_FALSE(parse_target("*"));
    CHECK_FALSE(parse_target("v1/me"));
    CHECK_FALSE(parse_target("/v1/%zz"));
    // Empty pairs name nothing: "?" alone, "&&", a trailing "&".
    for (const char* empty : {"/v1/me?", "/v1/me?&", "/v1/me?limit=5&&", "/v1/me?&limit=5"}) {
        auto e = parse_target(empty);
        REQUIRE(e);
        CHECK(e->query.size() ==
              (std::string_view(empty).find("limit") == std::string_view::npos ? 0u : 1u));
    }
    for (const char* blank : {"/v1/me?=x", "/v1/me?="}) {
        auto blank_name = parse_target(blank);
        REQUIRE(blank_name);
        CHECK(blank_name->query.size() == 1);  // a pair with an empty name is refused later
    }
}
