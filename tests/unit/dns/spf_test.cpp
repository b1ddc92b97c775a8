// The SPF evaluator through its public API: the question/answer protocol, result fields,
// options, and macro expansion (RFC 7208 §7.4's own examples) observed as the names it asks.
#include "dns/spf.hpp"

#include <catch2/catch.hpp>
#include <optional>

#include "dns/static_zone.hpp"

using namespace postern::dns;

namespace {

IpAddress ip(std::string_view text) {
    auto a = IpAddress::parse(text);
    REQUIRE(a);
    return *a;
}

SpfRequest request(std::string_view client, std::string_view sender,
                   std::string_view helo = "mx.example.org") {
    SpfRequest r;
    r.client = ip(client);
    r.sender = sender;
    r.helo = helo;
    return r;
}

// Evaluates against `zone` and records every question asked.
struct Run {
    SpfResult result;
    std::vector<Question> asked;
};
Run run(const StaticZone& zone, const SpfRequest& req, const SpfOptions& opt = {}) {
    Run r;
    r.result = evaluate_spf(
        [&](const Question& q) {
            r.asked.push_back(q);
            return zone.resolve(q);
        },
        req, opt);
    return r;
}

// The name "exists:<macro>" makes the evaluator ask for, with sender strong-bad@email.example.com.
std::string expand(std::string_view macro, std::string_view client = "192.0.2.3") {
    StaticZone zone;
    zone.add("email.example.com", Type::TXT, "v=spf1 exists:" + std::string(macro) + " -all");
    const Run r = run(zone, request(client, "strong-bad@email.example.com"));
    REQUIRE(r.asked.size() >= 2);
    CHECK(r.asked[1].type == Type::A);
    return r.asked[1].name;
}

}  // namespace

TEST_CASE("macro expansion follows the examples of RFC 7208 section 7.4", "[spf][macro]") {
    using Row = std::pair<std::string, std::string>;
    auto [macro, want] = GENERATE(table<std::string, std::string>({
        Row{"%{s}.x.test", "strong-bad@email.example.com.x.test"},
        Row{"%{o}", "email.example.com"},
        Row{"%{d}", "email.example.com"},
        Row{"%{d4}", "email.example.com"},
        Row{"%{d3}", "email.example.com"},
        Row{"%{d2}", "example.com"},
        Row{"%{d1}", "com"},
        Row{"%{dr}", "com.example.email"},
        Row{"%{d2r}", "example.email"},
        Row{"%{l}.x.test", "strong-bad.x.test"},
        Row{"%{l-}.x.test", "strong.bad.x.test"},
        Row{"%{lr}.x.test", "strong-bad.x.test"},
        Row{"%{lr-}.x.test", "bad.strong.x.test"},
        Row{"%{l1r-}.x.test", "strong.x.test"},
        Row{"%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com"},
        Row{"%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com"},
        Row{"%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", "bad.strong.lp.3.2.0.192.in-addr._spf.example.com"},
        Row{"%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", "3.2.0.192.in-addr.strong.lp._spf.example.com"},
        Row{"%{d2}.trusted-domains.example.net", "example.com.trusted-domains.example.net"},
        Row{"%{i}.x.test", "192.0.2.3.x.test"},
        Row{"%{h}.x.test", "mx.example.org.x.test"},
        Row{"%{L}.x.test", "strong-bad.x.test"},
        Row{"%{S}.x.test", "strong-bad%40email.example.com.x.test"},
        Row{"a%%b%_c%-d.x.test", "a%b c%20d.x.test"},
        Row{"%{d1000r}.x.test", "com.example.email.x.test"},
        Row{"%{o+,/_=}.x.test", "email.example.com.x.test"},
    }));
    INFO(macro);
    CHECK(expand(macro) == want);
}

TEST_CASE("IPv6 %{i} is 32 nibbles; %{v} is ip6", "[spf][macro]") {
    CHECK(expand("%{ir}.%{v}._spf.%{d2}", "2001:db8::cb01") ==
          "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com");
}

TEST_CASE("a macro-expanded name over 253 octets loses labels from the left", "[spf][macro]") {
    const std::string name = expand("%{s}.%{s}.%{s}.%{s}.%{s}.%{s}.%{s}.%{s}.%{s}.x.test");
    CHECK(name.size() <= 253);
    CHECK(name.size() > 253 - 30);
    CHECK(name.substr(name.size() - 7) == ".x.test");
    CHECK(name.front() != '.');
}

TEST_CASE("macro syntax errors and letters outside explanations are permerrors", "[spf][macro]") {
    auto spec = GENERATE(as<std::string>{}, "%{d0}", "%{x}", "%{c}.x.test", "%{r}.x.test",
                         "%{t}.x.test", "%(d)", "x%", "%{d", "%{d2rr}");
    StaticZone zone;
    zone.add("email.example.com", Type::TXT, "v=spf1 exists:" + spec + " -all");
    const Run r = run(zone, request("192.0.2.3", "strong-bad@email.example.com"));
    INFO(spec);
    CHECK(r.result.kind == SpfKind::permerror);
    CHECK(r.asked.size() == 1);  // the record was rejected before any term was evaluated
}

TEST_CASE("the evaluator asks one question at a time and reports what matched", "[spf][api]") {
    SpfEvaluation e(request("192.0.2.10", "alice@example.com"));
    REQUIRE_FALSE(e.done());
    const Question* q = e.next();
    REQUIRE(q != nullptr);
    CHECK(q->name == "example.com");
    CHECK(q->type == Type::TXT);

    Answer txt;
    txt.status = Status::ok;
    txt.txt = {"other text", "v=spf1 ip4:198.51.100.0/24 a:mail.example.com -all"};
    // Moving an evaluation mid-flight keeps its state.
    SpfEvaluation moved = std::move(e);
    moved.answer(txt);
    q = moved.next();
    REQUIRE(q != nullptr);
    CHECK(q->name == "mail.example.com");
    CHECK(q->type == Type::A);

    Answer a;
    a.status = Status::ok;
    a.addresses = {"192.0.2.10"};
    moved.answer(a);
    REQUIRE(moved.done());
    CHECK(moved.next() == nullptr);
    CHECK(moved.result().kind == SpfKind::pass);
    CHECK(moved.result().mechanism == "a:mail.example.com");
    CHECK(moved.result().domain == "example.com");
    moved.answer(a);  // ignored once done
    CHECK(moved.result().kind == SpfKind::pass);
}

TEST_CASE("an evaluation moved mid-flight keeps its request, even short strings", "[spf][api]") {
    StaticZone zone;
    zone.add("b.co", Type::TXT, "v=spf1 exists:%{l}.%{o}.%{h}.x.test -all");
    zone.add("a.b.co.h.x.test", Type::A, "127.0.0.2");
    std::optional<SpfEvaluation> outer;
    {
        std::string sender = "a@b.co", helo = "h";  // short enough for the small-string buffer
        SpfEvaluation inner(request("192.0.2.1", sender, helo));
        outer.emplace(std::move(inner));
    }
    while (const Question* q = outer->next()) outer->answer(zone.resolve(*q));
    CHECK(outer->result().kind == SpfKind::pass);
}

TEST_CASE("result fields: default, include, explanation, problems", "[spf][api]") {
    StaticZone zone;
    zone.add("example.com", Type::TXT, "v=spf1 include:_spf.example.net ~all");
    zone.add("_spf.example.net", Type::TXT, "v=spf1 ip6:2001:db8::/32 -all");
    zone.add("neutral.test", Type::TXT, "v=spf1 ip4:192.0.2.1");
    zone.add("fail.test", Type::TXT, "v=spf1 -all exp=why.fail.test");
    zone.add("why.fail.test", Type::TXT, "%{i} may not send for %{d} (%{r}, %{t})");
    zone.add("bad.test", Type::TXT, "v=spf1 ip4:192.0.2.300 -all");
    zone.add_timeout("slow.test");

    Run r = run(zone, request("2001:db8:1::5", "bob@example.com"));
    CHECK(r.result.kind == SpfKind::pass);
    CHECK(r.result.mechanism == "include:_spf.example.net");

    r = run(zone, request("192.0.2.9", "bob@example.com"));
    CHECK(r.result.kind == SpfKind::softfail);
    CHECK(r.result.mechanism == "~all");
    CHECK(r.result.explanation.empty());

    r = run(zone, request("192.0.2.9", "x@neutral.test"));
    CHECK(r.result.kind == SpfKind::neutral);
    CHECK(r.result.mechanism == "default");

    SpfRequest req = request("192.0.2.9", "x@fail.test");
    req.receiver = "mx.postern.test";
    req.now = 1700000000;
    r = run(zone, req);
    CHECK(r.result.kind == SpfKind::fail);
    CHECK(r.result.explanation ==
          "192.0.2.9 may not send for fail.test (mx.postern.test, 1700000000)");

    r = run(zone, request("192.0.2.9", "x@bad.test"));
    CHECK(r.result.kind == SpfKind::permerror);
    CHECK_THAT(r.result.problem, Catch::Contains("ip4:192.0.2.300"));
    CHECK(r.result.mechanism.empty());

    r = run(zone, request("192.0.2.9", "x@slow.test"));
    CHECK(r.result.kind == SpfKind::temperror);

    r = run(zone, request("192.0.2.9", "x@nowhere.test"));
    CHECK(r.result.kind == SpfKind::none);
}

TEST_CASE("the null sender is checked as postmaster@HELO", "[spf][api]") {
    StaticZone zone;
    zone.add("mx.example.org", Type::TXT, "v=spf1 exists:%{l}.%{o}.x.test -all");
    zone.add("postmaster.mx.example.org.x.test", Type::A, "127.0.0.2");
    const Run r = run(zone, request("192.0.2.9", "", "mx.example.org"));
    CHECK(r.result.kind == SpfKind::pass);
    CHECK(r.result.domain == "mx.example.org");
}

TEST_CASE("lookup and void limits are options", "[spf][limits]") {
    StaticZone zone;
    zone.add("example.com", Type::TXT, "v=spf1 a:a1.test a:a2.test a:a3.test ip4:192.0.2.1 -all");
    zone.add("a1.test", Type::A, "198.51.100.1");
    zone.add("a2.test", Type::A, "198.51.100.2");
    zone.add("a3.test", Type::A, "198.51.100.3");
    const SpfRequest req = request("192.0.2.1", "x@example.com");
    CHECK(run(zone, req).result.kind == SpfKind::pass);
    SpfOptions two;
    two.lookup_limit = 2;
    const Run limited = run(zone, req, two);
    CHECK(limited.result.kind == SpfKind::permerror);
    CHECK(limited.asked.size() == 3);  // TXT, a1, a2: the third "a" is refused before asking

    StaticZone voids;
    voids.add("example.com", Type::TXT, "v=spf1 a:n1.test a:n2.test ip4:192.0.2.1 -all");
    CHECK(run(voids, req).result.kind == SpfKind::pass);
    SpfOptions one;
    one.void_limit = 1;
    CHECK(run(voids, req, one).result.kind == SpfKind::permerror);
}

TEST_CASE("include and redirect loops end in permerror", "[spf][limits]") {
    StaticZone zone;
    zone.add("loop.test", Type::TXT, "v=spf1 include:loop.test -all");
    zone.add("redir.test", Type::TXT, "v=spf1 redirect=%{d}");
    const Run a = run(zone, request("192.0.2.1", "x@loop.test"));
    CHECK(a.result.kind == SpfKind::permerror);
    CHECK(a.asked.size() == 11);  // the top record and 10 includes
    CHECK(run(zone, request("192.0.2.1", "x@redir.test")).result.kind == SpfKind::permerror);
}

TEST_CASE("%{p} and ptr validate names and prefer the domain", "[spf][ptr]") {
    StaticZone zone;
    zone.add("example.com", Type::TXT, "v=spf1 ptr -all exp=exp.example.com");
    zone.add("exp.example.com", Type::TXT, "from %{p}");
    zone.add("3.2.0.192.in-addr.arpa", Type::PTR, "mail.other.test.");
    zone.add("3.2.0.192.in-addr.arpa", Type::PTR, "mx.example.com.");
    zone.add("mail.other.test", Type::A, "192.0.2.3");
    zone.add("mx.example.com", Type::A, "192.0.2.3");
    zone.add("4.2.0.192.in-addr.arpa", Type::PTR, "mail.other.test");
    CHECK(run(zone, request("192.0.2.3", "x@example.com")).result.kind == SpfKind::pass);
    const Run r = run(zone, request("192.0.2.4", "x@example.com"));
    CHECK(r.result.kind == SpfKind::fail);
    CHECK(r.result.explanation == "from unknown");  // mail.other.test does not point back
}

TEST_CASE("IP addresses parse, match networks and name their PTR zone", "[spf][ip]") {
    CHECK_FALSE(IpAddress::parse("1.2.3"));
    CHECK_FALSE(IpAddress::parse("01.2.3.4"));
    CHECK_FALSE(IpAddress::parse("1.2.3.4:25"));
    CHECK_FALSE(IpAddress::parse("[::1]"));
    CHECK_FALSE(IpAddress::parse(""));
    const IpAddress mapped = ip("::ffff:192.0.2.1");
    CHECK(mapped.is_v4_mapped());
    CHECK(mapped.unmapped() == ip("192.0.2.1"));
    CHECK(ip("192.0.2.77").in_network(ip("192.0.2.64"), 26));
    CHECK_FALSE(ip("192.0.2.77").in_network(ip("192.0.2.96"), 27));
    CHECK_FALSE(ip("192.0.2.77").in_network(ip("192.0.2.76"), 32));
    CHECK(ip("2001:db8:ffff::1").in_network(ip("2001:db8::"), 32));
    CHECK_FALSE(ip("192.0.2.1").in_network(ip("::ffff:192.0.2.1"), 0));  // families differ
    CHECK(ip("2001:DB8::1").to_string() == "2001:db8::1");
    std::string rev;
    ip("192.0.2.1").append_reverse_name(rev);
    CHECK(rev == "1.2.0.192.in-addr.arpa");
    rev.clear();
    ip("2001:db8::1").append_reverse_name(rev);
    CHECK(rev == "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
}

TEST_CASE("the static zone follows CNAMEs and reports loops as errors", "[dns][zone]") {
    StaticZone zone;
    zone.add("alias.test", Type::CNAME, "Target.test.");
    zone.add("target.test", Type::A, "192.0.2.1");
    zone.add("loop1.test", Type::CNAME, "loop2.test");
    zone.add("loop2.test", Type::CNAME, "loop1.test");
    zone.add("dangling.test", Type::CNAME, "missing.test");
    zone.add_timeout("slow.test", Type::MX);
    Answer a = zone.resolve({"ALIAS.test", Type::A});
    CHECK(a.status == Status::ok);
    CHECK(a.addresses == std::vector<std::string>{"192.0.2.1"});
    CHECK(a.canonical_name == "target.test");
    CHECK(zone.resolve({"alias.test", Type::TXT}).status == Status::nodata);
    CHECK(zone.resolve({"loop1.test", Type::A}).status == Status::temperror);
    CHECK(zone.resolve({"dangling.test", Type::A}).status == Status::nxdomain);
    CHECK(zone.resolve({"slow.test", Type::MX}).status == Status::temperror);
    CHECK(zone.resolve({"slow.test", Type::A}).status == Status::nodata);
    CHECK(zone.resolve({"nowhere.test", Type::A}).status == Status::nxdomain);
}
