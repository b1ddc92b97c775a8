// Routes about the service and the token: /healthz, /openapi.json, /v1/me, /v1/mailboxes.
#include <algorithm>

#include "apid/access.hpp"
#include "apid/api.hpp"
#include "apid/problem.hpp"
#include "apid/serialize.hpp"
#include "common/crypto.hpp"
#include "common/ids.hpp"
#include "common/log.hpp"
#include "common/scopes.hpp"
#include "handlers.hpp"
#include "storage/connex_repo.hpp"

namespace postern::api {

namespace json = boost::json;

Response handle_healthz(const Context& c) {
    if (auto errors = reject_params(c.target.query); !errors.empty()) return bad_request(errors);
    // Reading the tenants table proves the database file is open, migrated and readable.
    if (auto r = storage::default_tenant(c.db); !r) {
        spdlog::error("healthz: {}", r.error().message());
        return problem(503, "the database is not readable");
    }
    return json_response(200, json::object{{"status", "ok"}});
}

Response handle_openapi(const Context& c) {
    if (auto errors = reject_params(c.target.query); !errors.empty()) return bad_request(errors);
    return Response::json(200, std::string(openapi_document()));
}

Response handle_me(const Context& c) {
    if (auto errors = reject_params(c.target.query); !errors.empty()) return bad_request(errors);
    const storage::Token& t = *c.token;
    json::value mailbox = nullptr;
    if (t.mailbox_id) {
        auto m = storage::find_mailbox(c.db, t.tenant_id, *t.mailbox_id);
        if (!m) return storage_failure(m.error(), "me: find_mailbox");
        json::value address = nullptr;
        if (*m) address = json::value(utf8_clean((*m)->address));
        mailbox = json::object{{"id", *t.mailbox_id}, {"address", std::move(address)}};
    }
    json::array scopes;
    for (const auto& s : t.scopes) scopes.push_back(json::value(s));
    json::array routes;
    for (const auto& r : c.router.table()) {
        const AccessRule* rule = find_access(r.method, r.pattern);
        // The Connex surface is discovered through /.well-known/connex-agent and key-check.
        if (!rule || is_connex_route(r.pattern)) continue;
        if (rule->takes_admin() && t.mailbox_id) continue;  // admin routes are tenant-wide
        if (rule->needs_scope() && !scope_allows(t.scopes, rule->scope)) continue;
        routes.push_back(json::object{
            {"method", r.method},
            {"path", r.pattern},
            {"scope", rule->needs_scope() ? json::value(rule->scope) : json::value(nullptr)},
        });
    }
    json::object o;
    o["token_id"] = t.id;
    o["tenant_id"] = t.tenant_id;
    o["mailbox"] = std::move(mailbox);
    o["scopes"] = std::move(scopes);
    o["expires_at"] = timestamp_or_null(t.expires_at);
    o["routes"] = std::move(routes);
    return json_response(200, o);
}

Response handle_list_mailboxes(const Context& c) {
    std::vector<storage::Mailbox> all;
    if (c.token->mailbox_id) {
        auto m = storage::find_mailbox(c.db, c.token->tenant_id, *c.token->mailbox_id);
        if (!m) return storage_failure(m.error(), "mailboxes: find_mailbox");
        if (*m) all.push_back(std::move(**m));
    } else {
        auto list = storage::list_mailboxes(c.db, c.token->tenant_id);
        if (!list) return storage_failure(list.error(), "mailboxes: list_mailboxes");
        all = std::move(*list);
    }
    auto auto_on = storage::auto_evaluate_mailboxes(c.db, c.token->tenant_id);
    if (!auto_on) return storage_failure(auto_on.error(), "mailboxes: settings");
    // Cursors name the tenant's list.
    auto page = page_short_list(c, std::move(all), 'b', c.token->tenant_id, "mbx",
                                [&](const storage::Mailbox& m) {
                                    json::object item = mailbox_json(m);
                                    item["connex_auto_evaluate"] =
                                        std::binary_search(auto_on->begin(), auto_on->end(), m.id);
                                    return item;
                                });
    if (!page) return std::move(page.error());
    return json_response(200, *page);
}

}  // namespace postern::api
