#include "apid/problem.hpp"

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

using namespace postern::api;
namespace json = boost::json;

TEST_CASE("problem+json has type, title, status and detail", "[apid][problem]") {
    auto status = GENERATE(400u, 401u, 403u, 404u, 405u, 413u, 431u, 500u, 503u);
    Response r = problem(status, "something");
    CHECK(r.status == status);
    CHECK(r.content_type == "application/problem+json");
    json::value v = json::parse(r.body);
    auto& o = v.as_object();
    CHECK(std::string_view(o.at("type").as_string()).starts_with(kProblemTypeBase));
    CHECK(!o.at("title").as_string().empty());
    CHECK(o.at("status").to_number<unsigned>() == status);
    CHECK(o.at("detail").as_string() == "something");
    CHECK_FALSE(o.contains("errors"));
}

TEST_CASE("problem types are stable URIs, one per status", "[apid][problem]") {
    CHECK(problem_type(404) == "https://postern.dev/problems/not-found");
    CHECK(problem_type(401) == "https://postern.dev/problems/unauthorized");
    CHECK(problem_type(400) == "https://postern.dev/problems/invalid-request");
    CHECK(problem_type(431) == "https://postern.dev/problems/headers-too-large");
    CHECK(problem_type(418) == "about:blank");
}

TEST_CASE("bad_request lists each field error", "[apid][problem]") {
    Response r = bad_request({{"limit", "must be an integer"}, {"x", "unknown query parameter"}});
    CHECK(r.status == 400);
    json::value v = json::parse(r.body);
    auto& errors = v.at("errors").as_array();
    REQUIRE(errors.size() == 2);
    CHECK(errors[0].at("field").as_string() == "limit");
    CHECK(errors[0].at("message").as_string() == "must be an integer");
    CHECK(errors[1].at("field").as_string() == "x");
}

TEST_CASE("401 carries a Bearer challenge", "[apid][problem]") {
    Response missing = unauthorized(false, "a bearer token is required");
    REQUIRE(missing.header("www-authenticate"));
    CHECK(*missing.header("WWW-Authenticate") == R"(Bearer realm="postern")");
    Response bad = unauthorized(true, "the token is not valid");
    CHECK(*bad.header("WWW-Authenticate") == R"(Bearer realm="postern", error="invalid_token")");
    CHECK(bad.status == 401);
}

TEST_CASE("403 names the scope, 405 lists Allow, 500 hides internals", "[apid][problem]") {
    Response f = missing_scope("email:read");
    CHECK(f.status == 403);
    CHECK(json::parse(f.body).at("detail").as_string().find("email:read") != json::string::npos);
    Response m = method_not_allowed({"GET", "POST"});
    CHECK(m.status == 405);
    REQUIRE(m.header("Allow"));
    CHECK(*m.header("Allow") == "GET, HEAD, POST");
    Response i = internal_error();
    CHECK(i.status == 500);
    CHECK(json::parse(i.body).at("detail").as_string().find("logged") != json::string::npos);
}
