// The engine never throws or misbehaves on input that skipped validation: wrong member types,
// odd workflow shapes, random text. Meant to run under ASan+UBSan (POSTERN_SANITIZE=ON).
// Strings are valid UTF-8 here, as the request parser guarantees; the engine only ever cuts
// strings at ASCII bytes, so valid UTF-8 in means valid UTF-8 out.
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <cstdint>
#include <string>

#include "connex/evaluator.hpp"
#include "connex/outcome.hpp"

namespace json = boost::json;
using namespace postern::connex;

namespace {

// xorshift64*: a fixed-seed generator so that failures reproduce.
struct Rng {
    std::uint64_t s = 0x9E3779B97F4A7C15ull;
    std::uint64_t next() {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        return s * 0x2545F4914F6CDD1Dull;
    }
    std::size_t below(std::size_t n) { return static_cast<std::size_t>(next() % n); }
};

std::string random_text(Rng& r) {
    static const char* pieces[] = {"please",
                                   "remove",
                                   "me",
                                   "not",
                                   "interested",
                                   "?",
                                   ".",
                                   "\n",
                                   "> quoted",
                                   "On Mon wrote:",
                                   "$1.2m",
                                   "5.1.1",
                                   "3pm",
                                   "tue",
                                   "proof of funds",
                                   "don't",
                                   "\xE2\x80\x99",
                                   "\xC2\xA0",
                                   "\xC3\xBC",
                                   "\xF0\x9F\x98\x80",
                                   "-- ",
                                   "@",
                                   "a@b.c",
                                   "http://x.com/y",
                                   "~",
                                   "*",
                                   "#",
                                   "",
                                   "\r\n",
                                   "ooo",
                                   "UNSUBSCRIBE",
                                   "q3",
                                   "no problem",
                                   "\t"};
    std::string out;
    auto n = r.below(40);
    for (std::size_t i = 0; i < n; ++i) {
        if (r.below(8) == 0)
            out.push_back(static_cast<char>(r.below(128)));
        else
            out += pieces[r.below(std::size(pieces))];
        out.push_back(' ');
    }
    return out;
}

}  // namespace

TEST_CASE("wrongly typed requests degrade to absent fields", "[connex][robustness]") {
    TenantWeights w;
    EvalContext ctx;
    const char* shapes[] = {
        R"({})",
        R"({"app": 5, "message": "hello"})",
        R"({"app": "a", "message": {"subject": 1, "body": null}})",
        R"({"app": "a", "message": {"subject": "s", "body": "b"}, "workflow": {"statuses": 3}})",
        R"({"app": "a", "message": {"subject": "s", "body": "b"}, "currentStatus": "A",
            "workflow": {"statuses": [1, {"name": 2}, {"id": "A"}], "inboxes": [null],
                         "transitions": [1, {"from": 2}, {"from": "A", "to": 3}],
                         "canonicalMappings": {"question": [1]}}})",
        R"({"app": "a", "message": {"subject": "s", "body": "b?"}, "currentStatus": "A",
            "workflow": {"transitions": {"A": 7}, "mappings": [{"canonical": "question", "status": 9}]}})",
        R"({"app": "a", "message": {"subject": "s", "body": "b"}, "context": {"arv": "x", "askingPrice": -1}})",
        R"({"app": "a", "message": {"subject": "s", "body": "b"}, "context": {"arv": 1e308, "askingPrice": 1e-308}})",
        R"({"app": "a", "message": {"subject": "s", "body": "b"}, "sourceMailbox": {"replyPolicy": 1},
            "externalIds": [], "actor": "x", "object": {"id": 1}})",
    };
    for (const char* shape : shapes) {
        INFO(shape);
        auto req = json::parse(shape).as_object();
        CHECK_NOTHROW(evaluate_status(req, w, ctx));
        CHECK_NOTHROW(evaluate_event_json(req, w, ctx));
        CHECK_NOTHROW(preview_json(req));
    }
    auto fit =
        evaluate_status(json::parse(shapes[7]).as_object(), w, ctx).at("canonical").at("fitScore");
    CHECK(fit.as_int64() >= 0);
    CHECK(fit.as_int64() <= 100);
}

TEST_CASE("random text never breaks the evaluator", "[connex][robustness]") {
    Rng r;
    TenantWeights w;
    EvalContext ctx;
    for (int i = 0; i < 3000; ++i) {
        json::object req{
            {"app", "a"},
            {"message",
             {{"subject", random_text(r)}, {"body", random_text(r)}, {"from", random_text(r)}}}};
        if (i % 3 == 0) req["currentStatus"] = random_text(r);
        auto out = evaluate_event_json(req, w, ctx);
        REQUIRE(!out.empty());
        auto back = json::parse(out).as_object();  // the output is always well-formed JSON
        auto c = back.at("status").at("canonical").at("confidence").as_double();
        REQUIRE(c >= 0.05);
        REQUIRE(c <= 0.99);
        if (i % 10 == 0) {
            auto facts = facts_from_result(back, "");
            json::object o{{"sourceSystem", "s"},
                           {"sourceOutcomeId", "o"},
                           {"outcomeType", "bad_classification"},
                           {"valueScore", -5}};
            apply_outcome(w, o, facts);  // learning from garbage stays bounded
        }
    }
    for (const auto& [status, d] : w.status_confidence) {
        CHECK(d >= kMinConfidenceDelta);
        CHECK(d <= kMaxConfidenceDelta);
    }
}
