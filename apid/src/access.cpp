#include "apid/access.hpp"

namespace postern::api {

const std::vector<AccessRule>& access_table() {
    static const std::vector<AccessRule> kRules = {
        {"GET", "/healthz", kPublic},
        {"GET", "/openapi.json", kPublic},
        // Any valid token may ask what it is, whatever its scopes.
        {"GET", "/v1/me", kAuthenticated},
        {"GET", "/v1/mailboxes", "email:read"},
        {"GET", "/v1/mailboxes/{mailbox}/messages", "email:read"},
        {"GET", "/v1/mailboxes/{mailbox}/threads", "email:read"},
        {"GET", "/v1/messages/{id}", "email:read"},
        {"GET", "/v1/messages/{id}/raw", "email:read"},
        {"GET", "/v1/messages/{id}/attachments/{n}", "email:read"},
        {"GET", "/v1/threads/{id}", "email:read"},
    };
    return kRules;
}

const AccessRule* find_access(std::string_view method, std::string_view pattern) {
    for (const auto& r : access_table())
        if (r.method == method && r.pattern == pattern) return &r;
    return nullptr;
}

}  // namespace postern::api
