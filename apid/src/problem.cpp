#include "apid/problem.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace postern::api {

namespace {

struct Kind {
    unsigned status;
    std::string_view slug;
    std::string_view title;
};

constexpr Kind kKinds[] = {
    {400, "invalid-request", "Bad Request"},
    {401, "unauthorized", "Unauthorized"},
    {403, "forbidden", "Forbidden"},
    {404, "not-found", "Not Found"},
    {405, "method-not-allowed", "Method Not Allowed"},
    {408, "request-timeout", "Request Timeout"},
    {409, "conflict", "Conflict"},
    {413, "content-too-large", "Content Too Large"},
    {422, "unprocessable", "Unprocessable Content"},
    {429, "rate-limited", "Too Many Requests"},
    {431, "headers-too-large", "Request Header Fields Too Large"},
    {500, "internal", "Internal Server Error"},
    {503, "unavailable", "Service Unavailable"},
    {507, "insufficient-storage", "Insufficient Storage"},
};

const Kind* kind_of(unsigned status) {
    for (const auto& k : kKinds)
        if (k.status == status) return &k;
    return nullptr;
}

}  // namespace

std::string problem_type(unsigned status) {
    const Kind* k = kind_of(status);
    if (!k) return "about:blank";
    return std::string(kProblemTypeBase) + std::string(k->slug);
}

std::string_view problem_title(unsigned status) {
    const Kind* k = kind_of(status);
    return k ? k->title : std::string_view("Error");
}

Response problem(unsigned status, std::string detail, const std::vector<FieldError>& errors) {
    boost::json::object o;
    o["type"] = problem_type(status);
    o["title"] = problem_title(status);
    o["status"] = status;
    o["detail"] = detail;
    if (!errors.empty()) {
        boost::json::array arr;
        for (const auto& e : errors)
            arr.push_back(boost::json::object{{"field", e.field}, {"message", e.message}});
        o["errors"] = std::move(arr);
    }
    Response r;
    r.status = status;
    r.content_type = "application/problem+json";
    r.body = boost::json::serialize(o);
    return r;
}

Response bad_request(std::vector<FieldError> errors) {
    std::string detail = errors.size() == 1 ? errors.front().field + ": " + errors.front().message
                                            : "the request has invalid parameters";
    return problem(400, std::move(detail), errors);
}

Response unauthorized(bool token_presented, std::string detail) {
    Response r = problem(401, std::move(detail));
    r.add_header("WWW-Authenticate", token_presented
                                         ? R"(Bearer realm="postern", error="invalid_token")"
                                         : R"(Bearer realm="postern")");
    return r;
}

Response missing_scope(std::string_view scope) {
    return problem(403, "this token lacks the scope '" + std::string(scope) + "'");
}

Response not_found(std::string detail) { return problem(404, std::move(detail)); }

Response method_not_allowed(const std::vector<std::string_view>& allowed) {
    std::string allow;
    for (auto m : allowed) {
        if (!allow.empty()) allow += ", ";
        allow += m;
        if (m == "GET") allow += ", HEAD";  // answered as GET without content
    }
    Response r = problem(405, "this resource supports " + allow);
    r.add_header("Allow", allow);
    return r;
}

Response too_many_requests(std::int64_t retry_after_seconds, std::string_view what) {
    Response r = problem(429, "over the limit for " + std::string(what) + "; retry after " +
                                  std::to_string(retry_after_seconds) + " s");
    r.add_header("Retry-After", std::to_string(retry_after_seconds));
    return r;
}

Response internal_error() { return problem(500, "an internal error occurred; it has been logged"); }

}  // namespace postern::api
