// Request bodies of the Connex routes: size bound, JSON parsing, validation errors.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "apid/problem.hpp"
#include "common/crypto.hpp"
#include "connex_handlers.hpp"
#include "json_body.hpp"

namespace postern::api {

namespace json = boost::json;

tl::expected<json::value, Response> parse_object_body(const Context& c, std::size_t limit,
                                                      bool allow_empty, json::storage_ptr sp) {
    const std::string& body = c.request.body;
    if (body.size() > limit)
        return tl::unexpected(
            problem(413, "the request body is larger than " + std::to_string(limit) + " bytes"));
    if (body.find_first_not_of(" \t\r\n") == std::string::npos) {
        if (allow_empty) return json::value(json::object(sp));
        return tl::unexpected(bad_request({{"body", "a JSON object is required"}}));
    }
    json::parse_options opt;
    opt.max_depth = 64;
    auto v = parse_json(body, std::move(sp), opt);
    if (!v) return tl::unexpected(bad_request({{"body", v.error()}}));
    if (!v->is_object()) return tl::unexpected(bad_request({{"body", "must be a JSON object"}}));
    return std::move(*v);
}

Response invalid_body(const std::vector<connex::FieldError>& errors) {
    std::vector<FieldError> out;
    out.reserve(errors.size());
    for (const auto& e : errors) out.push_back({e.field, e.message});
    return bad_request(std::move(out));
}

std::string request_hash(const json::value& request) {
    return sha256_hex(json::serialize(request));
}

std::string_view str_member(const json::object& o, std::string_view key) {
    auto* v = o.if_contains(key);
    return v && v->is_string() ? std::string_view(v->get_string()) : std::string_view{};
}

}  // namespace postern::api
