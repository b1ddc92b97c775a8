#pragma once
// RFC 9457 problem details (`application/problem+json`). Every error postern-apid returns is
// built here, so the shape is the same everywhere:
//   {"type": "https://postern.dev/problems/<slug>", "title": …, "status": …, "detail": …,
//    "errors": [{"field", "message"}]}   (errors only for bad input)
// The type URI is stable per status (see docs/api.md); `detail` is for humans and never carries
// internals, secrets or stack traces. Pure; thread-safe.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "apid/http.hpp"

namespace postern::api {

inline constexpr std::string_view kProblemTypeBase = "https://postern.dev/problems/";

struct FieldError {
    std::string field;    // a query parameter or path parameter name
    std::string message;  // what is wrong with it
};

// The problem type URI and title for an HTTP status.
std::string problem_type(unsigned status);
std::string_view problem_title(unsigned status);

Response problem(unsigned status, std::string detail, const std::vector<FieldError>& errors = {});

// 400 with an `errors` array.
Response bad_request(std::vector<FieldError> errors);
// 401 with WWW-Authenticate. `token_presented`: a bearer token was sent (adds
// error="invalid_token", RFC 6750 §3.1); otherwise just the challenge.
Response unauthorized(bool token_presented, std::string detail);
// 403 naming the missing scope.
Response missing_scope(std::string_view scope);
// 404 that never says whether the object exists for someone else.
Response not_found(std::string detail = "no such object");
// 405 with Allow.
Response method_not_allowed(const std::vector<std::string_view>& allowed);
// 429 with Retry-After (whole seconds); `what` names the limit ("the tenant's request rate").
Response too_many_requests(std::int64_t retry_after_seconds, std::string_view what);
// 500 without internals (the caller logs them).
Response internal_error();

}  // namespace postern::api
