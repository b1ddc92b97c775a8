#pragma once
// The HTTP-agnostic core of postern-apid: request in, response out. For each request it parses
// the target, routes it (404/405), looks the route up in the scope table (access.hpp),
// authenticates the bearer token (401), checks the scope (403), then runs the route's handler
// with the tenant (and mailbox) taken from the token. No sockets here: the Beast session calls
// handle(), and unit tests call it directly with a temporary database.
//
// Thread-safe: one Api serves every io thread; each call passes the calling thread's own read
// connection, which is used for that call only.
#include <cstdint>

#include "apid/auth.hpp"
#include "apid/http.hpp"
#include "apid/router.hpp"
#include "storage/database.hpp"

namespace postern::api {

struct ApiOptions {
    Authenticator::Options auth;
};

class Api {
 public:
    Api() : Api(ApiOptions{}) {}
    explicit Api(ApiOptions options) : auth_(options.auth) {}

    // Never throws; an unexpected failure becomes a logged 500.
    Response handle(const Request& request, storage::Database& db, std::int64_t now_ms);
    Response handle(const Request& request, storage::Database& db);  // at the current time

    const Router& router() const { return router_; }
    Authenticator& authenticator() { return auth_; }

 private:
    Router router_;
    Authenticator auth_;
};

// The embedded OpenAPI 3.1 document (apid/openapi.json), served at GET /openapi.json.
std::string_view openapi_document();

}  // namespace postern::api
