#include "apid/api.hpp"

#include <boost/json/serialize.hpp>
#include <chrono>
#include <exception>

#include "apid/access.hpp"
#include "apid/problem.hpp"
#include "common/embedded.hpp"
#include "common/log.hpp"
#include "common/scopes.hpp"
#include "common/time.hpp"
#include "connex_handlers.hpp"
#include "handlers.hpp"

namespace postern::api {

namespace openapi_data {
extern const std::vector<postern::EmbeddedFile> kFiles;
}
namespace connex_openapi_data {
extern const std::vector<postern::EmbeddedFile> kFiles;
}

std::string_view openapi_document() { return openapi_data::kFiles.at(0).contents; }
std::string_view connex_openapi_document() { return connex_openapi_data::kFiles.at(0).contents; }

Response json_response(unsigned status, const boost::json::object& body) {
    return Response::json(status, boost::json::serialize(body));
}

Response storage_failure(const Error& e, std::string_view what) {
    spdlog::error("{}: {}", what, e.message());
    if (e.code() == Errc::no_space)
        return problem(507, "the server's storage is full; nothing was stored: try again later");
    return internal_error();
}

namespace {

Response dispatch(RouteId id, const Context& c) {
    switch (id) {
        case RouteId::healthz:
            return handle_healthz(c);
        case RouteId::openapi:
            return handle_openapi(c);
        case RouteId::me:
            return handle_me(c);
        case RouteId::list_mailboxes:
            return handle_list_mailboxes(c);
        case RouteId::list_messages:
            return handle_list_messages(c);
        case RouteId::list_threads:
            return handle_list_threads(c);
        case RouteId::get_message:
            return handle_get_message(c);
        case RouteId::get_message_raw:
            return handle_get_message_raw(c);
        case RouteId::get_attachment:
            return handle_get_attachment(c);
        case RouteId::get_thread:
            return handle_get_thread(c);
        case RouteId::patch_mailbox:
            return handle_patch_mailbox(c);
        case RouteId::send_message:
            return handle_send_message(c);
        case RouteId::reply_message:
            return handle_reply(c);
        case RouteId::forward_message:
            return handle_forward(c);
        case RouteId::list_deliveries:
            return handle_list_deliveries(c);
        case RouteId::create_domain:
            return handle_create_domain(c);
        case RouteId::list_domains:
            return handle_list_domains(c);
        case RouteId::get_domain:
            return handle_get_domain(c);
        case RouteId::domain_records:
            return handle_domain_records(c);
        case RouteId::verify_domain:
            return handle_verify_domain(c);
        case RouteId::connex_discovery:
            return handle_connex_discovery(c);
        case RouteId::connex_openapi:
            return handle_connex_openapi(c);
        case RouteId::connex_describe:
            return handle_connex_describe(c);
        case RouteId::connex_status:
            return handle_connex_status(c);
        case RouteId::connex_key_check:
            return handle_connex_key_check(c);
        case RouteId::connex_event:
            return handle_connex_event(c);
        case RouteId::connex_preview:
            return handle_connex_preview(c);
        case RouteId::connex_outcome:
            return handle_connex_outcome(c);
        case RouteId::connex_insights:
            return handle_connex_insights(c);
        case RouteId::connex_trust:
            return handle_connex_trust(c);
        case RouteId::connex_reasoning:
            return handle_connex_reasoning(c);
        case RouteId::connex_intelligence:
            return handle_connex_intelligence(c);
        case RouteId::connex_dispatch:
            return handle_connex_dispatch(c);
        case RouteId::connex_graph_event:
            return handle_connex_graph_event(c);
        case RouteId::connex_list_keys:
            return handle_connex_list_keys(c);
        case RouteId::connex_create_key:
            return handle_connex_create_key(c);
    }
    return internal_error();
}

Response auth_failure(AuthError e) {
    switch (e) {
        case AuthError::missing:
            return unauthorized(false, "a bearer token is required");
        case AuthError::invalid:
            return unauthorized(true, "the token is not valid");
        case AuthError::expired:
            return unauthorized(true, "the token has expired");
        case AuthError::unavailable:
            break;
    }
    return problem(503, "the token store could not be read; try again");
}

// The kind of credential and its scope, as the rule says. Connex keys are accepted only by the
// routes that take them, and Postern tokens only by the others (DESIGN.md §7: one visible prefix
// per kind, and a key is good for one surface).
std::optional<Response> check_credential(const AccessRule& rule, const storage::Token& token) {
    bool is_connex_key = token.kind == "connex";
    if (is_connex_key) {
        if (!rule.takes_connex_key())
            return unauthorized(true, rule.takes_admin()
                                          ? "this route needs the account session: a tenant-wide "
                                            "Postern token with the admin scope"
                                          : "a Connex API key is not accepted here");
        if (rule.needs_scope() && !scope_allows(token.scopes, rule.scope))
            return missing_scope(rule.scope);
        return std::nullopt;
    }
    if (rule.credential == Credential::connex_key)
        return unauthorized(true, "a Connex API key (cxk_live_…) is required");
    if (rule.takes_admin()) {
        if (!scope_allows(token.scopes, "admin")) return missing_scope("admin");
        if (token.mailbox_id)
            return problem(403, "this route needs a tenant-wide token, not one bound to a mailbox");
        return std::nullopt;
    }
    if (rule.needs_scope() && !scope_allows(token.scopes, rule.scope))
        return missing_scope(rule.scope);
    return std::nullopt;
}

std::optional<Response> check_rate(const AccessRule& rule, const storage::Token* token,
                                   const Request& request, ConnexState& connex, std::int64_t now) {
    RateDecision d;
    if (rule.rate == RateLimit::per_tenant && token) {
        d = connex.tenant_limiter().take(token->tenant_id, now);
        if (!d.allowed)
            return too_many_requests(d.retry_after_seconds, "the tenant's request rate");
    } else if (rule.rate == RateLimit::per_ip) {
        d = connex.ip_limiter().take(request.remote_address, now);
        if (!d.allowed)
            return too_many_requests(d.retry_after_seconds, "this address's request rate");
    }
    return std::nullopt;
}

std::string_view path_of(std::string_view target) { return target.substr(0, target.find('?')); }

}  // namespace

Response Api::handle(const Request& request, storage::Database& db) {
    return handle(request, db, now_ms());
}

// Everything a request must pass before its body matters: a valid target, a route, the route's
// access rule, and for a route that is not public a valid token of the right kind and scope.
// Either the refusal, or what the handler needs.
struct Api::Gate {
    std::optional<Response> refusal;
    std::optional<Target> target;
    RouteMatch match;
    const AccessRule* rule = nullptr;
    std::optional<storage::Token> token;
};

Api::Gate Api::gate(const Request& request, storage::Database& db, std::int64_t now) {
    Gate g;
    auto target = parse_target(request.target);
    if (!target) {
        g.refusal = bad_request({{"target", "is not a valid request target"}});
        return g;
    }
    g.target = std::move(*target);
    g.match = router_.match(request.method, g.target->segments);
    if (!g.match.route) {
        g.refusal = g.match.allowed.empty() ? not_found("no route for this path")
                                            : method_not_allowed(g.match.allowed);
        return g;
    }
    g.rule = find_access(g.match.route->method, g.match.route->pattern);
    if (!g.rule) {
        // Fail closed: a route without a row in the access table is never served.
        spdlog::error("route {} {} has no access rule", g.match.route->method,
                      g.match.route->pattern);
        g.refusal = internal_error();
        return g;
    }
    if (g.rule->is_public()) return g;
    auto auth = auth_.authenticate(request.authorization, db, now);
    if (!auth) {
        g.refusal = auth_failure(auth.error());
        return g;
    }
    g.token = std::move(*auth);
    if (auto denied = check_credential(*g.rule, *g.token)) g.refusal = std::move(*denied);
    return g;
}

std::optional<Response> Api::admit(const Request& head, storage::Database& db, std::int64_t now) {
    Gate g = gate(head, db, now);
    return std::move(g.refusal);
}

Response Api::handle(const Request& request, storage::Database& db, std::int64_t now) {
    auto started = std::chrono::steady_clock::now();
    std::string_view pattern = "-";
    std::string token_id = "-";
    Response response = [&]() -> Response {
        Gate g = gate(request, db, now);
        if (g.match.route) pattern = g.match.route->pattern;
        if (g.token) token_id = g.token->id;
        if (g.refusal) return std::move(*g.refusal);
        const storage::Token* token = g.token ? &*g.token : nullptr;
        if (auto limited = check_rate(*g.rule, token, request, connex_, now))
            return std::move(*limited);
        Context c{*g.target, g.match.params, token, db, router_, request, connex_, now, mail_};
        try {
            return dispatch(g.match.route->id, c);
        } catch (const std::exception& e) {
            spdlog::error("{} {}: {}", g.match.route->method, g.match.route->pattern, e.what());
            return internal_error();
        }
    }();
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                  std::chrono::steady_clock::now() - started)
                  .count();
    // The path only: a query string could carry a mistakenly sent secret. Never the headers.
    spdlog::debug("{} {} [{}] {} {} {}us", request.method, path_of(request.target), pattern,
                  response.deferred ? std::string("deferred") : std::to_string(response.status),
                  token_id, us);
    return response;
}

Response Api::finish(const DeferredWrite& write, const Result<void>& result) {
    try {
        return write.finish(result);
    } catch (const std::exception& e) {
        spdlog::error("deferred write reply: {}", e.what());
        return internal_error();
    }
}

Response Api::finish_blocking(const std::function<Response()>& work) {
    try {
        return work();
    } catch (const std::exception& e) {
        spdlog::error("blocking work: {}", e.what());
        return internal_error();
    }
}

Response Api::run_inline(Response response, storage::Database& db) {
    if (response.blocking) {
        auto work = response.blocking;
        response = finish_blocking(*work);
    }
    if (!response.deferred) return response;
    auto write = response.deferred;
    Result<void> r = [&]() -> Result<void> {
        auto tx = storage::Transaction::begin(db);
        if (!tx) return tl::unexpected(tx.error());
        try {
            POSTERN_TRY(write->job(db));
        } catch (const std::exception& e) {
            return fail(Errc::internal, std::string("job threw: ") + e.what());
        }
        return tx->commit();
    }();
    return finish(*write, r);
}

}  // namespace postern::api
