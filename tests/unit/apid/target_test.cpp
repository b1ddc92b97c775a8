#include "apid/target.hpp"

#include <catch2/catch.hpp>

using namespace postern::api;

namespace {
QueryParams q(const std::string& target) {
    auto t = parse_target(target);
    REQUIRE(t);
    return t->query;
}
}  // namespace

TEST_CASE("list params: defaults and valid values", "[apid][pagination]") {
    auto p = parse_list_params(q("/x"));
    REQUIRE(p);
    CHECK(p->limit == 50);
    CHECK_FALSE(p->cursor);
    p = parse_list_params(q("/x?limit=1&cursor=abc"));
    REQUIRE(p);
    CHECK(p->limit == 1);
    CHECK(*p->cursor == "abc");
    p = parse_list_params(q("/x?limit=500"));
    REQUIRE(p);
    CHECK(p->limit == 500);
    p = parse_list_params(q("/x?thread_id=thr_01J00000000000000000000000"), {"thread_id"});
    REQUIRE(p);
    CHECK(*p->thread_id == "thr_01J00000000000000000000000");
}

TEST_CASE("list params: every bad value is a field error", "[apid][pagination]") {
    auto [target, field] = GENERATE(table<std::string, std::string>({
        {"/x?limit=0", "limit"},
        {"/x?limit=501", "limit"},
        {"/x?limit=-1", "limit"},
        {"/x?limit=+5", "limit"},
        {"/x?limit=5.0", "limit"},
        {"/x?limit=abc", "limit"},
        {"/x?limit=", "limit"},
        {"/x?limit", "limit"},
        {"/x?limit=99999999999999999999999", "limit"},
        {"/x?limit=%205", "limit"},
        {"/x?cursor=", "cursor"},
        {"/x?limit=5&limit=6", "limit"},
        {"/x?foo=1", "foo"},
        {"/x?Limit=5", "Limit"},
        {"/x?thread_id=thr_x", "thread_id"},  // not accepted on this route
        {"/x?access_token=pst_abc", "access_token"},
    }));
    INFO(target);
    auto p = parse_list_params(q(target));
    REQUIRE_FALSE(p);
    REQUIRE(p.error().size() == 1);
    CHECK(p.error()[0].field == field);
}

TEST_CASE("list params: thread_id must look like a thread id", "[apid][pagination]") {
    auto p = parse_list_params(q("/x?thread_id=nope"), {"thread_id"});
    REQUIRE_FALSE(p);
    CHECK(p.error()[0].field == "thread_id");
}

TEST_CASE("list params: a cursor longer than the bound is refused", "[apid][pagination]") {
    auto p = parse_list_params(q("/x?cursor=" + std::string(kMaxCursorLength + 1, 'a')));
    REQUIRE_FALSE(p);
    CHECK(p.error()[0].field == "cursor");
}

TEST_CASE("reject_params: routes without parameters refuse them all", "[apid][pagination]") {
    CHECK(reject_params(q("/x")).empty());
    auto e = reject_params(q("/x?a=1&b"));
    REQUIRE(e.size() == 2);
    CHECK(e[0].field == "a");
    CHECK(e[1].field == "b");
}
