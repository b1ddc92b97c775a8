// The served OpenAPI document and the router must describe the same routes, each with its
// security and scope declared.
#include <algorithm>
#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <set>

#include "apid/access.hpp"
#include "apid/api.hpp"
#include "apid/router.hpp"

using namespace postern::api;
namespace json = boost::json;

namespace {
std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}
}  // namespace

TEST_CASE("openapi document is OpenAPI 3.1 with a bearer scheme", "[apid][openapi]") {
    json::value doc = json::parse(openapi_document());
    CHECK(std::string_view(doc.at("openapi").as_string()).starts_with("3.1"));
    CHECK(doc.at("components").at("securitySchemes").at("bearerAuth").at("scheme").as_string() ==
          "bearer");
}

// Where each route is documented: the Connex contract (seeds/003, served as-is at
// /api/connex/openapi) for the Connex routes it lists; /openapi.json for everything else,
// including the two Connex routes the contract does not list (its own URL and discovery).
static bool in_connex_contract(const Route& r) {
    json::value contract = json::parse(connex_openapi_document());
    auto* path = contract.at("paths").as_object().if_contains(r.pattern);
    return path && path->as_object().contains(lower(r.method));
}

TEST_CASE("every route is in the openapi document with its security", "[apid][openapi]") {
    json::value doc = json::parse(openapi_document());
    const auto& paths = doc.at("paths").as_object();
    for (const auto& r : routes()) {
        INFO(r.method << " " << r.pattern);
        if (in_connex_contract(r)) continue;  // checked below
        auto* path = paths.if_contains(r.pattern);
        REQUIRE(path);
        auto* op = path->as_object().if_contains(lower(r.method));
        REQUIRE(op);
        const AccessRule* rule = find_access(r.method, r.pattern);
        REQUIRE(rule);
        auto* security = op->as_object().if_contains("security");
        REQUIRE(security);  // declared on every operation, never inherited
        if (rule->is_public()) {
            CHECK(security->as_array().empty());
        } else {
            REQUIRE(security->as_array().size() == 1);
            CHECK(security->as_array()[0].as_object().contains("bearerAuth"));
            CHECK(op->as_object().at("responses").as_object().contains("401"));
        }
        CHECK(op->as_object().at("x-postern-scope").as_string() == rule->scope);
    }
}

TEST_CASE("every Connex contract operation is served with the contract's security",
          "[apid][openapi][connex]") {
    json::value contract = json::parse(connex_openapi_document());
    Router router;
    for (const auto& [path, item] : contract.at("paths").as_object()) {
        for (const auto& [method, op] : item.as_object()) {
            INFO(method << " " << path);
            auto it = std::find_if(router.table().begin(), router.table().end(), [&](auto& r) {
                return r.pattern == std::string_view(path) && lower(r.method) == method;
            });
            REQUIRE(it != router.table().end());
            const AccessRule* rule = find_access(it->method, it->pattern);
            REQUIRE(rule);
            std::set<std::string> schemes;
            for (const auto& s : op.at("security").as_array())
                for (const auto& [name, _] : s.as_object()) schemes.insert(std::string(name));
            if (schemes.empty()) {
                CHECK(rule->is_public());
            } else if (schemes == std::set<std::string>{"serviceKey"}) {
                CHECK(rule->credential == Credential::connex_key);
            } else if (schemes == std::set<std::string>{"userSession"}) {
                CHECK(rule->credential == Credential::admin);
            } else {
                CHECK(schemes == std::set<std::string>{"serviceKey", "userSession"});
                CHECK(rule->credential == Credential::connex_key_or_admin);
            }
            // A 403 in the contract means the route checks a scope.
            if (op.at("responses").as_object().contains("403")) CHECK(rule->needs_scope());
        }
    }
}

TEST_CASE("the served Connex contract is the seed copy, byte for byte", "[apid][openapi][connex]") {
    auto path =
        std::filesystem::path(POSTERN_SOURCE_DIR) / "tests" / "data" / "connex" / "openapi.json";
    std::ifstream in(path, std::ios::binary);
    REQUIRE(in);
    std::string seed((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK(seed == connex_openapi_document());
}

TEST_CASE("every operation in the openapi document is served", "[apid][openapi]") {
    json::value doc = json::parse(openapi_document());
    Router router;
    for (const auto& [path, item] : doc.at("paths").as_object()) {
        for (const auto& [method, op] : item.as_object()) {
            INFO(method << " " << path);
            auto it = std::find_if(router.table().begin(), router.table().end(), [&](auto& r) {
                return r.pattern == std::string_view(path) && lower(r.method) == method;
            });
            CHECK(it != router.table().end());
        }
    }
}
