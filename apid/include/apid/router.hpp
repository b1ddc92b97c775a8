#pragma once
// The router: (method, path pattern) -> route id, plus the path parameters. Patterns are
// slash-separated segments where "{name}" matches one whole non-empty segment; segments are
// matched after percent-decoding, so "/v1/mailboxes/a%40b.example/messages" binds
// mailbox="a@b.example". The same patterns are the keys of the scope table (access.hpp) and the
// paths of the OpenAPI document. Immutable after construction; thread-safe.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace postern::api {

enum class RouteId {
    healthz,
    openapi,
    me,
    list_mailboxes,
    list_messages,
    get_message,
    get_message_raw,
    get_attachment,
    list_threads,
    get_thread,
    patch_mailbox,
    send_message,
    reply_message,
    forward_message,
    list_deliveries,
    create_domain,
    list_domains,
    get_domain,
    domain_records,
    verify_domain,
    // Connex (seeds/003)
    connex_discovery,
    connex_openapi,
    connex_describe,  // every GET that describes a POST's contract
    connex_status,
    connex_key_check,
    connex_event,
    connex_preview,
    connex_outcome,
    connex_insights,
    connex_trust,
    connex_reasoning,
    connex_intelligence,
    connex_dispatch,
    connex_graph_event,
    connex_list_keys,
    connex_create_key,
};

struct Route {
    std::string_view method;   // "GET"
    std::string_view pattern;  // "/v1/messages/{id}"
    RouteId id;
};

// Every route postern-apid serves.
const std::vector<Route>& routes();

struct PathParams {
    std::vector<std::pair<std::string_view, std::string>> items;  // name -> decoded value
    // The value of `name`; an empty string when the route has no such parameter.
    const std::string& get(std::string_view name) const;
};

struct RouteMatch {
    const Route* route = nullptr;  // null: no route for this method and path
    PathParams params;
    // When the path matched some pattern but not with this method: the methods that would
    // have (for 405 and its Allow field). Empty when nothing matched at all (404).
    std::vector<std::string_view> allowed;
};

// Holds a reference to its table, which must outlive it (routes() is static).
class Router {
 public:
    explicit Router(const std::vector<Route>& table = routes());
    Router(const Router&) = delete;
    Router& operator=(const Router&) = delete;
    // `segments` are the decoded path segments ("/v1/me" -> {"v1", "me"}).
    RouteMatch match(std::string_view method, const std::vector<std::string>& segments) const;
    const std::vector<Route>& table() const { return table_; }

 private:
    struct Compiled {
        const Route* route;
        std::vector<std::string_view> segments;  // literal, or "{name}"
    };
    static bool match_one(const Compiled& c, const std::vector<std::string>& segments,
                          PathParams* params);
    const std::vector<Route>& table_;
    std::vector<Compiled> compiled_;
};

}  // namespace postern::api
