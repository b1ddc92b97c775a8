// Request validation: a table of bad inputs and the {field, message} each one yields, plus the
// classifier's handling of quoted replies and signatures.
#include "connex/validate.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <set>

#include "connex/classifier.hpp"

namespace json = boost::json;
using namespace postern::connex;

namespace {

bool has_error(const std::vector<FieldError>& errors, std::string_view field) {
    return std::any_of(errors.begin(), errors.end(),
                       [&](const FieldError& e) { return e.field == field; });
}

}  // namespace

TEST_CASE("status and event requests: bad input names the field", "[connex][validate]") {
    auto [body, field] = GENERATE(table<const char*, const char*>({
        {R"([])", ""},
        {R"({"message": {"subject": "s", "body": "b"}})", "app"},
        {R"({"app": "", "message": {"subject": "s", "body": "b"}})", "app"},
        {R"({"app": 7, "message": {"subject": "s", "body": "b"}})", "app"},
        {R"({"app": "a"})", "message"},
        {R"({"app": "a", "message": "hi"})", "message"},
        {R"({"app": "a", "message": {"body": "b"}})", "message.subject"},
        {R"({"app": "a", "message": {"subject": "s"}})", "message.body"},
        {R"({"app": "a", "message": {"subject": "s", "body": "b", "from": 1}})", "message.from"},
        {R"({"app": "a", "currentStatus": 3, "message": {"subject": "s", "body": "b"}})",
         "currentStatus"},
        {R"({"app": "a", "message": {"subject": "s", "body": "b"}, "context": {"arv": "lots"}})",
         "context.arv"},
        {R"({"app": "a", "message": {"subject": "s", "body": "b"}, "workflow": []})", "workflow"},
        {R"({"app": "a", "message": {"subject": "s", "body": "b"}, "externalIds": {"objectId": 5}})",
         "externalIds.objectId"},
        {R"({"app": "a", "message": {"subject": "s", "body": "b"}, "applyMode": "yolo"})",
         "applyMode"},
        {R"({"app": "a", "message": {"subject": "s", "body": "b"}, "sourceMailbox": {"replyPolicy": "always"}})",
         "sourceMailbox.replyPolicy"},
        {R"({"app": "a", "message": {"subject": "s", "body": "b"}, "sourceMailbox": {"senderIdentityOwner": "me"}})",
         "sourceMailbox.senderIdentityOwner"},
        {R"({"app": "a", "message": {"subject": "s", "body": "b"}, "actor": {"id": 1}})",
         "actor.id"},
    }));
    INFO(body);
    auto errors = validate_event_request(json::parse(body));
    CHECK(has_error(errors, field));
}

TEST_CASE("valid requests pass, unknown members allowed", "[connex][validate]") {
    auto ok = json::parse(R"({"app": "a", "message": {"subject": "", "body": ""}, "extra": {"x": 1},
        "applyMode": "materialize_safe", "sourceMailbox": {"senderIdentityOwner": "source_app"}})");
    CHECK(validate_event_request(ok).empty());
    CHECK(validate_status_request(ok).empty());
    auto big = json::object{
        {"app", "a"},
        {"message", {{"subject", "s"}, {"body", std::string(kMaxBodyBytes + 1, 'x')}}}};
    CHECK(has_error(validate_status_request(big), "message.body"));
}

TEST_CASE("outcome and insights requests", "[connex][validate]") {
    auto [body, field] = GENERATE(table<const char*, const char*>({
        {R"({"sourceOutcomeId": "o", "outcomeType": "deal_won", "valueScore": 1})", "sourceSystem"},
        {R"({"sourceSystem": "s", "outcomeType": "deal_won", "valueScore": 1})", "sourceOutcomeId"},
        {R"({"sourceSystem": "s", "sourceOutcomeId": "o", "valueScore": 1})", "outcomeType"},
        {R"({"sourceSystem": "s", "sourceOutcomeId": "o", "outcomeType": "deal_maybe", "valueScore": 1})",
         "outcomeType"},
        {R"({"sourceSystem": "s", "sourceOutcomeId": "o", "outcomeType": "deal_won"})",
         "valueScore"},
        {R"({"sourceSystem": "s", "sourceOutcomeId": "o", "outcomeType": "deal_won", "valueScore": 101})",
         "valueScore"},
        {R"({"sourceSystem": "s", "sourceOutcomeId": "o", "outcomeType": "deal_won", "valueScore": 1.5})",
         "valueScore"},
        {R"({"sourceSystem": "s", "sourceOutcomeId": "o", "outcomeType": "deal_won", "valueScore": 1, "revenueCents": "10"})",
         "revenueCents"},
        {R"({"sourceSystem": "s", "sourceOutcomeId": "o", "outcomeType": "deal_won", "valueScore": 1, "payload": []})",
         "payload"},
    }));
    INFO(body);
    CHECK(has_error(validate_outcome_request(json::parse(body)), field));
    CHECK(
        validate_outcome_request(
            json::parse(
                R"({"sourceSystem": "s", "sourceOutcomeId": "o", "outcomeType": "deal_won", "valueScore": -100})"))
            .empty());
    CHECK(validate_insights_request(json::value(nullptr)).empty());
    CHECK(has_error(validate_insights_request(json::parse(R"({"limit": 0})")), "limit"));
    CHECK(has_error(validate_insights_request(json::parse(R"({"limit": 101})")), "limit"));
    CHECK(to_json(validate_insights_request(json::parse(R"({"app": 1})"))).at(0).at("field") ==
          "app");
}

TEST_CASE("quoted replies, forwards and signatures do not vote", "[connex][classifier]") {
    TenantWeights w;
    auto status = [&](std::string_view subject, std::string_view body) {
        return std::string(name(classify({subject, body, ""}, w).status));
    };
    CHECK(status(
              "Re: list",
              "Sounds good, send it over.\n\nOn Tue, Mar 3, 2026 at 9:12 AM Dana <d@x.com> wrote:\n"
              "> Should I remove you from my mailing list?") == "positive_interest");
    CHECK(status("RE: offer",
                 "Yes, that works.\n\nFrom: Sam <s@x.com>\nSent: Monday\nTo: me\n"
                 "Subject: offer\n\nPlease remove me from your list") == "positive_interest");
    CHECK(
        status("Re: demo",
               "Not interested.\n-- \nJo | Acme\nTo unsubscribe from our newsletter click here") ==
        "not_interested");
    CHECK(status("Re: x", "Sounds good.\n\nSent from my iPhone") == "positive_interest");
    CHECK(status("", "") == "unclassified");
    // Typographic apostrophes and shouting are normalised.
    CHECK(status("Re: x", "We\u2019re not interested, thanks") == "not_interested");
    CHECK(status("Re: x", "STOP EMAILING ME. THIS IS SPAM.") == "complaint_or_spam");
}

TEST_CASE("long bodies are bounded and flagged", "[connex][classifier]") {
    TenantWeights w;
    std::string body = "Please remove me from your list.\n";
    while (body.size() < 100000) body += "lorem ipsum dolor sit amet consectetur\n";
    auto c = classify({"Re: x", body, ""}, w);
    CHECK(c.truncated);
    CHECK(c.status == Status::unsubscribe_request);
}
