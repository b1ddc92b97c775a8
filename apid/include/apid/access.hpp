#pragma once
// The one table that says what each route needs: a scope (checked with scope_allows from
// common/scopes.hpp), kAuthenticated (any valid token) or kPublic (no token). It is keyed by
// (method, pattern) exactly as in the router table; a route missing here is refused (fail closed)
// and a unit test walks both tables so that none is. Handlers never check scopes themselves. Pure;
// thread-safe.
#include <string_view>
#include <vector>

namespace postern::api {

inline constexpr std::string_view kPublic = "public";
inline constexpr std::string_view kAuthenticated = "authenticated";

struct AccessRule {
    std::string_view method;
    std::string_view pattern;
    std::string_view scope;  // a known scope, kAuthenticated or kPublic
    bool is_public() const { return scope == kPublic; }
    bool needs_scope() const { return scope != kPublic && scope != kAuthenticated; }
};

const std::vector<AccessRule>& access_table();

// The rule for a route, or nullptr when the table has none.
const AccessRule* find_access(std::string_view method, std::string_view pattern);

}  // namespace postern::api
