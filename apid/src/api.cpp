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
#include "handlers.hpp"

namespace postern::api {

namespace openapi_data {
extern const std::vector<postern::EmbeddedFile> kFiles;
}

std::string_view openapi_document() { return openapi_data::kFiles.at(0).contents; }

Response json_response(unsigned status, const boost::json::object& body) {
    return Response::json(status, boost::json::serialize(body));
}

Response storage_failure(const Error& e, std::string_view what) {
    spdlog::error("{}: {}", what, e.message());
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

std::string_view path_of(std::string_view target) { return target.substr(0, target.find('?')); }

}  // namespace

Response Api::handle(const Request& request, storage::Database& db) {
    return handle(request, db, now_ms());
}

Response Api::handle(const Request& request, storage::Database& db, std::int64_t now) {
    auto started = std::chrono::steady_clock::now();
    std::string_view pattern = "-";
    std::string token_id = "-";
    Response response = [&]() -> Response {
        auto target = parse_target(request.target);
        if (!target) return bad_request({{"target", "is not a valid request target"}});
        RouteMatch m = router_.match(request.method, target->segments);
        if (!m.route) {
            if (!m.allowed.empty()) return method_not_allowed(m.allowed);
            return not_found("no route for this path");
        }
        pattern = m.route->pattern;
        const AccessRule* rule = find_access(m.route->method, m.route->pattern);
        if (!rule) {
            // Fail closed: a route without a row in the scope table is never served.
            spdlog::error("route {} {} has no access rule", m.route->method, m.route->pattern);
            return internal_error();
        }
        std::optional<storage::Token> token;
        if (!rule->is_public()) {
            auto auth = auth_.authenticate(request.authorization, db, now);
            if (!auth) return auth_failure(auth.error());
            token = std::move(*auth);
            token_id = token->id;
            if (rule->needs_scope() && !scope_allows(token->scopes, rule->scope))
                return missing_scope(rule->scope);
        }
        Context c{*target, m.params, token ? &*token : nullptr, db, router_};
        try {
            return dispatch(m.route->id, c);
        } catch (const std::exception& e) {
            spdlog::error("{} {}: {}", m.route->method, m.route->pattern, e.what());
            return internal_error();
        }
    }();
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                  std::chrono::steady_clock::now() - started)
                  .count();
    // The path only: a query string could carry a mistakenly sent secret. Never the headers.
    spdlog::debug("{} {} [{}] {} {} {}us", request.method, path_of(request.target), pattern,
                  response.status, token_id, us);
    return response;
}

}  // namespace postern::api
