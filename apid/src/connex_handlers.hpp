#pragma once
// Private to postern_api: the Connex routes (seeds/003 contract; docs/connex-api.md) and what
// they share. Called by Api::handle after routing, credential, scope and rate checks; the tenant
// always comes from the token. Bodies are parsed with Boost.JSON (which rejects invalid UTF-8),
// validated by postern::connex, and evaluated by it; state changes are deferred responses that
// postern-apid commits through its group-commit writer before replying.
#include <boost/json/object.hpp>
#include <boost/json/storage_ptr.hpp>
#include <boost/json/value.hpp>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <vector>

#include "connex/validate.hpp"
#include "handlers.hpp"

namespace postern::api {

Response handle_connex_discovery(const Context& c);
Response handle_connex_openapi(const Context& c);
Response handle_connex_describe(const Context& c);
Response handle_connex_reasoning(const Context& c);
Response handle_connex_key_check(const Context& c);
Response handle_connex_status(const Context& c);
Response handle_connex_preview(const Context& c);
Response handle_connex_event(const Context& c);
Response handle_connex_outcome(const Context& c);
Response handle_connex_insights(const Context& c);
Response handle_connex_trust(const Context& c);
Response handle_connex_intelligence(const Context& c);
Response handle_connex_dispatch(const Context& c);
Response handle_connex_graph_event(const Context& c);
Response handle_connex_list_keys(const Context& c);
Response handle_connex_create_key(const Context& c);

// The request body as a JSON object allocated from `sp`: 413 over `limit` bytes; 400 when it is
// not a JSON object (or not valid UTF-8). An empty body is `{}` when `allow_empty`.
tl::expected<boost::json::value, Response> parse_object_body(const Context& c, std::size_t limit,
                                                             bool allow_empty,
                                                             boost::json::storage_ptr sp = {});
// 400 with the validator's field errors.
Response invalid_body(const std::vector<connex::FieldError>& errors);
// SHA-256 hex of the request as parsed (whitespace-insensitive): what idempotent replays compare.
std::string request_hash(const boost::json::value& request);
// The tenant's TrustResponse (also the dispatch policy's input).
[[nodiscard]] Result<boost::json::object> connex_trust_for(const Context& c);
// A string member, or "" when absent or not a string.
std::string_view str_member(const boost::json::object& o, std::string_view key);

}  // namespace postern::api
