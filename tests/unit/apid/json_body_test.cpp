// parse_json: boost::json's value, built in one pass that also refuses a name twice in an object.
#include "json_body.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <string>

using postern::api::parse_json;
namespace json = boost::json;

TEST_CASE("parse_json builds the value boost::json::parse builds", "[json]") {
    const std::string long_text(20000, 'x');
    const std::string long_key = "k" + std::string(5000, 'y');
    for (const std::string text : {
             std::string(R"({"to": "a@b.example", "n": -3, "big": 18446744073709551615,)"
                         R"( "d": 1.5e3, "t": true, "f": false, "z": null,)"
                         R"( "list": [1, [2, {"a": {}}], [], "s"], "esc": "\u00e9\n\"q\""})"),
             std::string(R"(["a", {"x": 1}, {"x": 2}])"),  // a name again, in another object
             std::string(R"({"a": {"a": {"a": 1}}})"),     // and in nested ones
             // Keys and strings with escapes come to the handler in parts.
             std::string(R"({"a\u0062": 1, "k\u00e9y": {"x\ny": 2}})"),
             "\"" + long_text + "\"",
             "{\"" + long_key + "\": \"" + long_text + "\\u0041\"}",
             std::string(" 42 "),
             std::string("{}"),
         }) {
        auto ours = parse_json(text);
        REQUIRE(ours.has_value());
        CHECK(*ours == json::parse(text));
    }
}

TEST_CASE("parse_json refuses a repeated name and what is not JSON", "[json]") {
    auto dup = parse_json(R"({"a": 1, "b": [{"c": 1, "c": 2}]})");
    REQUIRE_FALSE(dup.has_value());
    CHECK(dup.error() == R"(names "c" twice in one object)");
    const std::string long_key(100, 'k');
    auto long_dup = parse_json("{\"" + long_key + "\": 1, \"" + long_key + "\": 2}");
    REQUIRE_FALSE(long_dup.has_value());
    CHECK(long_dup.error() == "names a key twice in one object");
    // The same name spelled with an escape is the same name.
    CHECK_FALSE(parse_json(R"({"ab": 1, "a\u0062": 2})").has_value());
    for (const char* bad : {"{nope", "", "{\"a\": 1} x", "[1, 2", "{\"a\": 1,}", "01"}) {
        auto r = parse_json(bad);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().starts_with("is not valid JSON: "));
    }
}

TEST_CASE("parse_json builds with the storage it is given and honours the parse options",
          "[json]") {
    json::monotonic_resource mr;
    auto v = parse_json(R"({"a": [1, 2, "three"]})", &mr);
    REQUIRE(v.has_value());
    CHECK(v->storage().get() == &mr);
    CHECK(v->at("a").storage().get() == &mr);
    json::parse_options deep;
    deep.max_depth = 2;
    CHECK_FALSE(parse_json("[[[1]]]", {}, deep).has_value());
    CHECK(parse_json("[[1]]", {}, deep).has_value());
    const std::string lax = R"({"a": 1, /* a comment */ "b": [2,],})";
    CHECK_FALSE(parse_json(lax).has_value());
    json::parse_options lenient;
    lenient.allow_comments = lenient.allow_trailing_commas = true;
    auto v2 = parse_json(lax, {}, lenient);
    REQUIRE(v2.has_value());
    CHECK(*v2 == json::parse(lax, {}, lenient));
}
