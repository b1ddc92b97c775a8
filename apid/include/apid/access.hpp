#pragma once
// The one table that says what each route needs. It is keyed by (method, pattern) exactly as in
// the router table; a route missing here is refused (fail closed) and a unit test walks both
// tables so that none is. Handlers never check credentials, scopes or rates themselves. Pure;
// thread-safe.
//
// Each rule names
//   - `scope`: a known scope (checked with scope_allows from common/scopes.hpp), kAuthenticated
//     (any valid credential of the right kind) or kPublic (no credential at all);
//   - `credential`: which kind of bearer token the route takes (ignored when public):
//       token        a Postern token (pst_…), the /v1 API;
//       connex_key   a Connex API key (cxk_live_…) holding `scope`;
//       admin        a tenant-wide Postern token with `admin`: it stands in for the Connex web
//                    session on the account-gated Connex routes (`userSession` in the contract);
//       connex_key_or_admin  either of the two (POST /api/connex/status);
//   - `rate`: the token bucket the request draws from (per tenant, or per client IP).
#include <cstdint>
#include <string_view>
#include <vector>

namespace postern::api {

inline constexpr std::string_view kPublic = "public";
inline constexpr std::string_view kAuthenticated = "authenticated";

enum class Credential : std::uint8_t { token, connex_key, admin, connex_key_or_admin };
enum class RateLimit : std::uint8_t { none, per_tenant, per_ip };

struct AccessRule {
    std::string_view method;
    std::string_view pattern;
    std::string_view scope;  // a known scope, kAuthenticated or kPublic
    Credential credential = Credential::token;
    RateLimit rate = RateLimit::none;
    bool is_public() const { return scope == kPublic; }
    bool needs_scope() const { return scope != kPublic && scope != kAuthenticated; }
    bool takes_connex_key() const {
        return credential == Credential::connex_key ||
               credential == Credential::connex_key_or_admin;
    }
    bool takes_admin() const {
        return credential == Credential::admin || credential == Credential::connex_key_or_admin;
    }
};

const std::vector<AccessRule>& access_table();

// The rule for a route, or nullptr when the table has none.
const AccessRule* find_access(std::string_view method, std::string_view pattern);

// The Connex surface (/api/connex/*, /.well-known/connex-agent): documented by the Connex
// contract rather than /openapi.json, and discovered through /.well-known/connex-agent.
bool is_connex_route(std::string_view pattern);

}  // namespace postern::api
