#include "apid/router.hpp"

#include <algorithm>

namespace postern::api {

const std::vector<Route>& routes() {
    static const std::vector<Route> kRoutes = {
        {"GET", "/healthz", RouteId::healthz},
        {"GET", "/openapi.json", RouteId::openapi},
        {"GET", "/v1/me", RouteId::me},
        {"GET", "/v1/mailboxes", RouteId::list_mailboxes},
        {"GET", "/v1/mailboxes/{mailbox}/messages", RouteId::list_messages},
        {"GET", "/v1/mailboxes/{mailbox}/threads", RouteId::list_threads},
        {"GET", "/v1/messages/{id}", RouteId::get_message},
        {"GET", "/v1/messages/{id}/raw", RouteId::get_message_raw},
        {"GET", "/v1/messages/{id}/attachments/{n}", RouteId::get_attachment},
        {"GET", "/v1/threads/{id}", RouteId::get_thread},
        {"PATCH", "/v1/mailboxes/{mailbox}", RouteId::patch_mailbox},
        {"POST", "/v1/mailboxes/{mailbox}/messages", RouteId::send_message},
        {"POST", "/v1/messages/{id}/reply", RouteId::reply_message},
        {"POST", "/v1/messages/{id}/forward", RouteId::forward_message},
        {"GET", "/v1/messages/{id}/deliveries", RouteId::list_deliveries},
        {"POST", "/v1/domains", RouteId::create_domain},
        {"GET", "/v1/domains", RouteId::list_domains},
        {"GET", "/v1/domains/{id}", RouteId::get_domain},
        {"GET", "/v1/domains/{id}/records", RouteId::domain_records},
        {"POST", "/v1/domains/{id}/verify", RouteId::verify_domain},
        {"GET", "/.well-known/connex-agent", RouteId::connex_discovery},
        {"GET", "/api/connex/openapi", RouteId::connex_openapi},
        {"GET", "/api/connex/status", RouteId::connex_describe},
        {"POST", "/api/connex/status", RouteId::connex_status},
        {"GET", "/api/connex/key-check", RouteId::connex_describe},
        {"POST", "/api/connex/key-check", RouteId::connex_key_check},
        {"GET", "/api/connex/integration-event", RouteId::connex_describe},
        {"POST", "/api/connex/integration-event", RouteId::connex_event},
        {"GET", "/api/connex/integration-preview", RouteId::connex_describe},
        {"POST", "/api/connex/integration-preview", RouteId::connex_preview},
        {"GET", "/api/connex/integration-outcome", RouteId::connex_describe},
        {"POST", "/api/connex/integration-outcome", RouteId::connex_outcome},
        {"GET", "/api/connex/integration-insights", RouteId::connex_describe},
        {"POST", "/api/connex/integration-insights", RouteId::connex_insights},
        {"GET", "/api/connex/trust", RouteId::connex_describe},
        {"POST", "/api/connex/trust", RouteId::connex_trust},
        {"GET", "/api/connex/reasoning", RouteId::connex_reasoning},
        {"GET", "/api/connex/intelligence", RouteId::connex_intelligence},
        {"POST", "/api/connex/dispatch", RouteId::connex_dispatch},
        {"POST", "/api/connex/graph-event", RouteId::connex_graph_event},
        {"GET", "/api/connex/service-keys", RouteId::connex_list_keys},
        {"POST", "/api/connex/service-keys", RouteId::connex_create_key},
    };
    return kRoutes;
}

const std::string& PathParams::get(std::string_view name) const {
    static const std::string kEmpty;
    for (const auto& [k, v] : items)
        if (k == name) return v;
    return kEmpty;
}

namespace {

std::vector<std::string_view> split_pattern(std::string_view pattern) {
    std::vector<std::string_view> out;
    std::size_t i = 1;  // patterns start with '/'
    while (i <= pattern.size()) {
        std::size_t j = pattern.find('/', i);
        if (j == std::string_view::npos) j = pattern.size();
        out.push_back(pattern.substr(i, j - i));
        i = j + 1;
    }
    return out;
}

bool is_param(std::string_view seg) {
    return seg.size() > 2 && seg.front() == '{' && seg.back() == '}';
}

}  // namespace

Router::Router(const std::vector<Route>& table) : table_(table) {
    compiled_.reserve(table_.size());
    for (const auto& r : table_) compiled_.push_back({&r, split_pattern(r.pattern)});
}

bool Router::match_one(const Compiled& c, const std::vector<std::string>& segments,
                       PathParams* params) {
    if (c.segments.size() != segments.size()) return false;
    for (std::size_t i = 0; i < segments.size(); ++i) {
        const auto& want = c.segments[i];
        if (is_param(want)) {
            if (segments[i].empty()) return false;
        } else if (want != segments[i]) {
            return false;
        }
    }
    if (params) {
        for (std::size_t i = 0; i < segments.size(); ++i)
            if (is_param(c.segments[i]))
                params->items.emplace_back(c.segments[i].substr(1, c.segments[i].size() - 2),
                                           segments[i]);
    }
    return true;
}

RouteMatch Router::match(std::string_view method, const std::vector<std::string>& segments) const {
    RouteMatch m;
    for (const auto& c : compiled_) {
        if (c.route->method == method && match_one(c, segments, &m.params)) {
            m.route = c.route;
            return m;
        }
    }
    for (const auto& c : compiled_) {
        if (match_one(c, segments, nullptr) &&
            std::find(m.allowed.begin(), m.allowed.end(), c.route->method) == m.allowed.end())
            m.allowed.push_back(c.route->method);
    }
    return m;
}

}  // namespace postern::api
