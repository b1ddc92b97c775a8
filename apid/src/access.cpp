#include "apid/access.hpp"

namespace postern::api {

namespace {
constexpr auto kKey = Credential::connex_key;
constexpr auto kAdmin = Credential::admin;
constexpr auto kTenant = RateLimit::per_tenant;
constexpr auto kIp = RateLimit::per_ip;
constexpr std::string_view kEvaluate = "status:evaluate";
}  // namespace

const std::vector<AccessRule>& access_table() {
    static const std::vector<AccessRule> kRules = {
        {"GET", "/healthz", kPublic},
        {"GET", "/openapi.json", kPublic},
        // Any valid token may ask what it is, whatever its scopes.
        {"GET", "/v1/me", kAuthenticated},
        {"GET", "/v1/mailboxes", "email:read"},
        // Mailbox settings are tenant management (API.md: `admin`).
        {"PATCH", "/v1/mailboxes/{mailbox}", "admin", kAdmin},
        {"GET", "/v1/mailboxes/{mailbox}/messages", "email:read"},
        {"GET", "/v1/mailboxes/{mailbox}/threads", "email:read"},
        {"GET", "/v1/messages/{id}", "email:read"},
        {"GET", "/v1/messages/{id}/raw", "email:read"},
        {"GET", "/v1/messages/{id}/attachments/{n}", "email:read"},
        {"GET", "/v1/threads/{id}", "email:read"},
        // Sending (issue 4). Delivery state is part of reading one's own mail.
        {"POST", "/v1/mailboxes/{mailbox}/messages", "email:send"},
        {"POST", "/v1/messages/{id}/reply", "email:send"},
        {"POST", "/v1/messages/{id}/forward", "email:send"},
        {"GET", "/v1/messages/{id}/deliveries", "email:read"},
        // Domain onboarding is tenant management: tenant-wide admin tokens only.
        {"POST", "/v1/domains", "admin", kAdmin},
        {"GET", "/v1/domains", "admin", kAdmin},
        {"GET", "/v1/domains/{id}", "admin", kAdmin},
        {"GET", "/v1/domains/{id}/records", "admin", kAdmin},
        {"POST", "/v1/domains/{id}/verify", "admin", kAdmin},

        // Connex (seeds/003). Every GET that describes a contract is public, as is discovery.
        {"GET", "/.well-known/connex-agent", kPublic},
        {"GET", "/api/connex/openapi", kPublic},
        {"GET", "/api/connex/status", kPublic},
        {"POST", "/api/connex/status", kEvaluate, Credential::connex_key_or_admin, kTenant},
        {"GET", "/api/connex/key-check", kPublic},
        {"POST", "/api/connex/key-check", kAuthenticated, kKey, kTenant},
        {"GET", "/api/connex/integration-event", kPublic},
        {"POST", "/api/connex/integration-event", kEvaluate, kKey, kTenant},
        {"GET", "/api/connex/integration-preview", kPublic},
        {"POST", "/api/connex/integration-preview", kPublic, Credential::token, kIp},
        {"GET", "/api/connex/integration-outcome", kPublic},
        {"POST", "/api/connex/integration-outcome", kEvaluate, kKey, kTenant},
        {"GET", "/api/connex/integration-insights", kPublic},
        {"POST", "/api/connex/integration-insights", kEvaluate, kKey, kTenant},
        {"GET", "/api/connex/trust", kPublic},
        {"POST", "/api/connex/trust", kEvaluate, kKey, kTenant},
        {"GET", "/api/connex/reasoning", kPublic, Credential::token, kIp},
        // Account-gated in the contract (a signed-in web session): a tenant-wide admin token.
        {"GET", "/api/connex/intelligence", "admin", kAdmin},
        {"POST", "/api/connex/dispatch", "admin", kAdmin},
        {"POST", "/api/connex/graph-event", "admin", kAdmin},
        {"GET", "/api/connex/service-keys", "admin", kAdmin},
        {"POST", "/api/connex/service-keys", "admin", kAdmin},
    };
    return kRules;
}

const AccessRule* find_access(std::string_view method, std::string_view pattern) {
    for (const auto& r : access_table())
        if (r.method == method && r.pattern == pattern) return &r;
    return nullptr;
}

bool is_connex_route(std::string_view pattern) {
    return pattern.starts_with("/api/connex/") || pattern == "/.well-known/connex-agent";
}

}  // namespace postern::api
