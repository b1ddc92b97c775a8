#pragma once
// Private to postern_api: Idempotency-Key for the POSTs that create or send (API.md "Writes").
//
//   auto key = begin_idempotent(c);            // before any other work
//   if (!key) return std::move(key.error());   // a replay of the first response, or 409
//   ... validate, prepare ...
//   return idempotent_write(c, *key, job, "what");
//
// The first response is stored by the same writer job that made the change (so a replay never
// sees a key without its effect), and that job checks the key again inside the transaction: two
// concurrent requests with one key are serialised by the writer, and the second gets the first's
// response instead of sending twice. Only successful (2xx) responses are stored; a refused
// request changed nothing, so a retry of it is harmless. The request fingerprint is the SHA-256
// of method, path and body: the same key with another body (or on another route) is 409.
// Keys are per token (principal) and tenant, kept 24 h (storage::kIdempotencyWindowMs).
#include <functional>
#include <optional>
#include <string>

#include "handlers.hpp"

namespace postern::api {

struct IdempotencyKey {
    std::string tenant_id;
    std::string principal;  // the token id
    std::string key;
    std::string route;  // "POST /v1/messages/{id}/reply"
    std::string request_sha256;
};

inline constexpr std::size_t kMaxIdempotencyKey = 255;

// nullopt when the request has no Idempotency-Key. The error is the response to send at once:
// the stored first response (with `Idempotent-Replayed: true`), a 409 for another body, or a
// 400 for a malformed key.
[[nodiscard]] tl::expected<std::optional<IdempotencyKey>, Response> begin_idempotent(
    const Context& c, std::string_view route);

struct JsonReply {
    unsigned status = 200;
    std::string body;  // serialised JSON
    std::string content_type = "application/json";
};

// A deferred response whose job runs `work` (inside the writer's transaction) unless the key was
// used meanwhile, and saves its reply under the key. `what` names the write in logs.
Response idempotent_write(std::optional<IdempotencyKey> key,
                          std::function<Result<JsonReply>(storage::Database&)> work,
                          std::string what, std::int64_t now);

}  // namespace postern::api
