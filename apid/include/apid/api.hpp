#pragma once
// The HTTP-agnostic core of postern-apid: request in, response out. For each request it parses
// the target, routes it (404/405), looks the route up in the access table (access.hpp),
// authenticates the bearer token (401), checks its kind and scope (401/403) and the route's rate
// limit (429), then runs the route's handler with the tenant (and mailbox) taken from the token.
// No sockets here: the Beast session calls handle(), and unit tests call it directly with a
// temporary database.
//
// A handler that changes state returns a deferred response (http.hpp): the caller runs its job
// on the group-commit writer and replies with finish(). run_inline() does both on one connection
// (tests, tools).
//
// Thread-safe: one Api serves every io thread; each call passes the calling thread's own read
// connection, which is used for that call only.
#include <cstdint>
#include <memory>

#include "apid/auth.hpp"
#include "apid/connex_state.hpp"
#include "apid/http.hpp"
#include "apid/router.hpp"
#include "common/config.hpp"
#include "common/disk_room.hpp"
#include "storage/database.hpp"

namespace postern::api {

// What the sending and domain routes need from the configuration.
struct MailOptions {
    std::string hostname = "localhost";  // Message-ID right side, the MX target of domain records
    std::uint64_t max_message_bytes = 25 * 1024 * 1024;  // [outbound] max_message_bytes
    bool require_verified_domain = true;                 // [outbound] require_verified_domain
    DnsConfig dns;                                       // the resolver for domain verification
    std::uint32_t verify_timeout_ms = 30000;             // all lookups of one verification
    // The data directory's room above [smtp] min_free_bytes: a send that would not fit is 507.
    // Null: not checked (only a full disk stops a send, SQLITE_FULL, also 507).
    std::shared_ptr<DiskRoom> disk_room;
};

struct ApiOptions {
    Authenticator::Options auth;
    ConnexOptions connex;
    MailOptions mail;
};

class Api {
 public:
    Api() : Api(ApiOptions{}) {}
    explicit Api(ApiOptions options)
        : auth_(options.auth), connex_(options.connex), mail_(std::move(options.mail)) {}

    // Never throws; an unexpected failure becomes a logged 500.
    Response handle(const Request& request, storage::Database& db, std::int64_t now_ms);
    // The refusal a request gets from its head alone (method, target, Authorization; the body is
    // ignored): 400 for a bad target, 404/405, 401/403 for the token. The server asks before it
    // reads a body, so that nobody without a valid token can make it buffer one. Never throws.
    std::optional<Response> admit(const Request& head, storage::Database& db, std::int64_t now_ms);
    Response handle(const Request& request, storage::Database& db);  // at the current time

    // The reply to a deferred response once its job has run (committed or failed). Never throws.
    static Response finish(const DeferredWrite& write, const Result<void>& result);
    // Runs a response's blocking work (Response::blocking). Never throws.
    static Response finish_blocking(const std::function<Response()>& work);
    // Runs a deferred response's job in its own transaction on `db`, then finish(). Returns other
    // responses unchanged.
    static Response run_inline(Response response, storage::Database& db);

    const Router& router() const { return router_; }
    Authenticator& authenticator() { return auth_; }
    ConnexState& connex() { return connex_; }
    const MailOptions& mail() const { return mail_; }

 private:
    struct Gate;
    Gate gate(const Request& request, storage::Database& db, std::int64_t now);

    Router router_;
    Authenticator auth_;
    ConnexState connex_;
    MailOptions mail_;
};

// The embedded OpenAPI 3.1 document (apid/openapi.json), served at GET /openapi.json.
std::string_view openapi_document();
// The Connex contract (seeds/003, apid/connex_openapi.json), served as-is at
// GET /api/connex/openapi.
std::string_view connex_openapi_document();

}  // namespace postern::api
