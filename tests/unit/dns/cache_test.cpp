// The resolver's answer cache with an injected clock: TTLs, negative caching, what is never
// cached, LRU eviction, keys; and the query-name checks the resolver applies before asking.
#include "dns/cache.hpp"

#include <catch2/catch.hpp>
#include <string>

using namespace postern::dns;
using std::chrono::seconds;

namespace {

const AnswerCache::Time t0{std::chrono::hours(1000)};

Answer ok(std::uint32_t ttl, std::string address = "192.0.2.1") {
    Answer a;
    a.status = Status::ok;
    a.ttl = ttl;
    a.addresses.push_back(std::move(address));
    return a;
}

Answer negative(Status s, std::uint32_t ttl) {
    Answer a;
    a.status = s;
    a.ttl = ttl;
    return a;
}

Question a_q(std::string name) { return Question{std::move(name), Type::A}; }

}  // namespace

TEST_CASE("cache: a stored answer is returned with the seconds it has left") {
    AnswerCache c;
    CHECK_FALSE(c.get(a_q("example.com"), t0));
    c.put(a_q("example.com"), ok(300), t0);
    auto hit = c.get(a_q("example.com"), t0);
    REQUIRE(hit);
    CHECK(hit->status == Status::ok);
    CHECK(hit->ttl == 300);
    CHECK(hit->addresses == std::vector<std::string>{"192.0.2.1"});

    hit = c.get(a_q("example.com"), t0 + seconds(100));
    REQUIRE(hit);
    CHECK(hit->ttl == 200);
    hit = c.get(a_q("example.com"), t0 + std::chrono::milliseconds(299'500));
    REQUIRE(hit);
    CHECK(hit->ttl == 0);  // rounded down; still valid for the last half second
    CHECK(c.stats().hits == 3);
    CHECK(c.stats().misses == 1);
}

TEST_CASE("cache: an answer expires after its TTL and is dropped") {
    AnswerCache c;
    c.put(a_q("example.com"), ok(60), t0);
    CHECK(c.get(a_q("example.com"), t0 + seconds(59)));
    CHECK_FALSE(c.get(a_q("example.com"), t0 + seconds(60)));
    CHECK(c.size() == 0);
    CHECK(c.stats().expired == 1);
    CHECK_FALSE(c.get(a_q("example.com"), t0 + seconds(1)));  // gone, even for an earlier time
}

TEST_CASE("cache: TTLs are capped, and a TTL of 0 is not kept") {
    CacheOptions o;
    o.max_ttl = 3600;
    o.max_negative_ttl = 900;
    AnswerCache c(o);
    c.put(a_q("long.example"), ok(7 * 86400), t0);
    REQUIRE(c.get(a_q("long.example"), t0));
    CHECK(c.get(a_q("long.example"), t0)->ttl == 3600);
    CHECK_FALSE(c.get(a_q("long.example"), t0 + seconds(3600)));

    c.put(a_q("neg.example"), negative(Status::nxdomain, 86400), t0);
    CHECK(c.get(a_q("neg.example"), t0)->ttl == 900);

    c.put(a_q("zero.example"), ok(0), t0);
    CHECK_FALSE(c.get(a_q("zero.example"), t0));
    CHECK(c.size() == 1);  // neg.example; long.example expired above, zero.example never kept
}

TEST_CASE("cache: NXDOMAIN and NODATA are cached for their negative TTL") {
    AnswerCache c;
    c.put(a_q("gone.example"), negative(Status::nxdomain, 120), t0);
    c.put(Question{"txtonly.example", Type::MX}, negative(Status::nodata, 30), t0);

    auto nx = c.get(a_q("gone.example"), t0 + seconds(100));
    REQUIRE(nx);
    CHECK(nx->status == Status::nxdomain);
    CHECK(nx->ttl == 20);
    auto nodata = c.get(Question{"txtonly.example", Type::MX}, t0 + seconds(29));
    REQUIRE(nodata);
    CHECK(nodata->status == Status::nodata);
    CHECK_FALSE(c.get(Question{"txtonly.example", Type::MX}, t0 + seconds(30)));
}

TEST_CASE("cache: temperror and permerror are never cached") {
    AnswerCache c;
    c.put(a_q("slow.example"), negative(Status::temperror, 300), t0);
    c.put(a_q("bad.example"), negative(Status::permerror, 300), t0);
    CHECK_FALSE(c.get(a_q("slow.example"), t0));
    CHECK_FALSE(c.get(a_q("bad.example"), t0));
    CHECK(c.size() == 0);

    // A failure does not replace a good answer either.
    c.put(a_q("slow.example"), ok(300), t0);
    c.put(a_q("slow.example"), negative(Status::temperror, 300), t0 + seconds(1));
    REQUIRE(c.get(a_q("slow.example"), t0 + seconds(2)));
    CHECK(c.get(a_q("slow.example"), t0 + seconds(2))->status == Status::ok);
}

TEST_CASE("cache: keys ignore case and one trailing dot, and tell types apart") {
    AnswerCache c;
    c.put(a_q("Mail.Example.COM."), ok(300), t0);
    CHECK(c.get(a_q("mail.example.com"), t0));
    CHECK(c.get(a_q("MAIL.EXAMPLE.COM."), t0));
    CHECK_FALSE(c.get(Question{"mail.example.com", Type::AAAA}, t0));
    CHECK_FALSE(c.get(Question{"mail.example.com", Type::TXT}, t0));
    CHECK_FALSE(c.get(a_q("example.com"), t0));
    CHECK(cache_key(a_q("A.b.")) == cache_key(a_q("a.B")));
    CHECK(cache_key(a_q("a.b")) != cache_key(Question{"a.b", Type::MX}));
}

TEST_CASE("cache: a new answer replaces the old one and its TTL") {
    AnswerCache c;
    c.put(a_q("example.com"), ok(300, "192.0.2.1"), t0);
    c.put(a_q("example.com"), ok(10, "192.0.2.2"), t0 + seconds(5));
    auto hit = c.get(a_q("example.com"), t0 + seconds(6));
    REQUIRE(hit);
    CHECK(hit->addresses == std::vector<std::string>{"192.0.2.2"});
    CHECK(hit->ttl == 9);
    CHECK(c.size() == 1);
}

TEST_CASE("cache: beyond max_entries the least recently used answer goes") {
    CacheOptions o;
    o.max_entries = 3;
    AnswerCache c(o);
    c.put(a_q("a.example"), ok(300), t0);
    c.put(a_q("b.example"), ok(300), t0);
    c.put(a_q("c.example"), ok(300), t0);
    REQUIRE(c.get(a_q("a.example"), t0));  // a is now the most recent; b the least
    c.put(a_q("d.example"), ok(300), t0);
    CHECK(c.size() == 3);
    CHECK(c.stats().evicted == 1);
    CHECK_FALSE(c.get(a_q("b.example"), t0));
    CHECK(c.get(a_q("a.example"), t0));
    CHECK(c.get(a_q("c.example"), t0));
    CHECK(c.get(a_q("d.example"), t0));

    SECTION("replacing an entry makes it recent without evicting") {
        c.put(a_q("c.example"), ok(300), t0);
        c.put(a_q("e.example"), ok(300), t0);  // order was c d a: a goes
        CHECK_FALSE(c.get(a_q("a.example"), t0));
        CHECK(c.get(a_q("c.example"), t0));
    }
}

TEST_CASE("cache: max_entries 0 caches nothing; clear() empties") {
    CacheOptions o;
    o.max_entries = 0;
    AnswerCache none(o);
    none.put(a_q("a.example"), ok(300), t0);
    CHECK(none.size() == 0);
    CHECK_FALSE(none.get(a_q("a.example"), t0));

    AnswerCache c;
    c.put(a_q("a.example"), ok(300), t0);
    c.clear();
    CHECK(c.size() == 0);
    CHECK_FALSE(c.get(a_q("a.example"), t0));
}

TEST_CASE("cache: every stored field comes back") {
    AnswerCache c;
    Answer a;
    a.status = Status::ok;
    a.ttl = 60;
    a.mx = {{10, "mx1.example"}, {20, "mx2.example"}};
    a.txt = {"v=spf1 -all"};
    a.names = {"alias.example"};
    a.canonical_name = "real.example";
    c.put(Question{"example", Type::MX}, a, t0);
    auto hit = c.get(Question{"example", Type::MX}, t0);
    REQUIRE(hit);
    REQUIRE(hit->mx.size() == 2);
    CHECK(hit->mx[1].preference == 20);
    CHECK(hit->mx[1].host == "mx2.example");
    CHECK(hit->txt == a.txt);
    CHECK(hit->names == a.names);
    CHECK(hit->canonical_name == "real.example");
}

TEST_CASE("query_name: the names the resolver may ask") {
    const std::string l63(63, 'a');
    const std::string l64(64, 'a');
    CHECK(query_name("example.com") == std::optional<std::string_view>("example.com"));
    CHECK(query_name("example.com.") == std::optional<std::string_view>("example.com"));
    CHECK(query_name(l63 + ".example"));
    CHECK_FALSE(query_name(l64 + ".example"));
    CHECK_FALSE(query_name("example." + l64));

    // 253 octets in text is the most a name can have (255 on the wire).
    std::string n253 = l63 + "." + l63 + "." + l63 + "." + std::string(61, 'b');
    REQUIRE(n253.size() == 253);
    CHECK(query_name(n253));
    CHECK(query_name(n253 + "."));
    CHECK_FALSE(query_name(n253 + "b"));

    CHECK_FALSE(query_name(""));
    CHECK_FALSE(query_name("."));
    CHECK_FALSE(query_name("a..b"));
    CHECK_FALSE(query_name(".a"));
    CHECK_FALSE(query_name("a.b.."));
    CHECK_FALSE(query_name("a\\.b"));
    CHECK_FALSE(query_name(std::string("a\0b", 3)));
    CHECK_FALSE(query_name("a\nb"));
    CHECK(query_name("_dmarc.example.com"));
    CHECK(query_name("1.2.0.192.in-addr.arpa"));
    CHECK(query_name("with space.example"));  // odd but a valid DNS label (exists: macros)
}
