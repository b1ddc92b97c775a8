#pragma once
// The HTTP-agnostic request and response that the handler layer works on. The Beast session
// (src/server.cpp) converts to and from these, so everything above the socket is testable
// without one. Plain values; no Asio or Beast here.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.hpp"

namespace postern::storage {
class Database;
}

namespace postern::api {

struct Request {
    std::string method;                          // "GET", as received (case-sensitive, RFC 9110)
    std::string target;                          // origin-form request target: path and query
    std::optional<std::string> authorization;    // the Authorization header value, if present
    std::string body;                            // the request body (bounded by api.max_body_bytes)
    std::string remote_address;                  // the client's IP address; per-IP rate limits
    std::optional<std::string> idempotency_key;  // the Idempotency-Key header, if present
};

struct DeferredWrite;

struct Response {
    unsigned status = 200;
    std::string content_type;  // empty: no body
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;  // extra fields, e.g. Allow
    // Set when the reply waits for a durable write (DESIGN.md §4): the server runs the job on the
    // group-commit writer and sends what `finish` returns instead of this response.
    std::shared_ptr<DeferredWrite> deferred;
    // Set when the reply needs blocking work that must not run on an io thread (live DNS
    // lookups): the server runs `blocking` on a small worker pool and sends what it returns
    // (which may itself be deferred). Never set together with `deferred`.
    std::shared_ptr<std::function<Response()>> blocking;

    // A JSON body (already serialised) with `application/json`.
    static Response json(unsigned status, std::string body);
    void add_header(std::string name, std::string value) {
        headers.emplace_back(std::move(name), std::move(value));
    }
    // The value of an extra header field (ASCII case-insensitive), or nullptr.
    const std::string* header(std::string_view name) const;
};

// A write that must be on disk before the client hears about it. `job` runs on the writer
// thread inside the group-commit transaction (its own savepoint); `finish` runs afterwards on the
// session's executor with the commit's result and builds the reply. Both may be called from
// threads other than the one that built them, so they own (or share) everything they touch.
struct DeferredWrite {
    std::function<Result<void>(storage::Database&)> job;
    std::function<Response(const Result<void>&)> finish;
};

// A response that completes once `job` has committed.
Response deferred(std::function<Result<void>(storage::Database&)> job,
                  std::function<Response(const Result<void>&)> finish);

}  // namespace postern::api
