// The evaluator's contract beyond the schema: safety rules, workflow mapping, determinism,
// preview redaction and materialization.
#include "connex/evaluator.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <set>

#include "connex/validate.hpp"

namespace json = boost::json;
using namespace postern::connex;

namespace {

json::object request(std::string_view subject, std::string_view body,
                     std::string_view from = "Dana Ruiz <dana@example.com>") {
    return {{"app", "buyboxclub"},
            {"message", {{"subject", subject}, {"body", body}, {"from", from}}}};
}

EvalContext ctx() {
    EvalContext c;
    c.tenant_id = "ten_1";
    return c;
}

// All operations of an event result with their bucket name.
std::vector<std::pair<std::string, json::object>> ops_by_bucket(const json::object& event) {
    std::vector<std::pair<std::string, json::object>> out;
    for (const auto& [bucket, ops] : event.at("operationBuckets").as_object())
        for (const auto& op : ops.as_array()) out.emplace_back(bucket, op.as_object());
    return out;
}

std::vector<std::pair<std::string, json::object>> ops_of(const json::object& event,
                                                         std::string_view type) {
    auto all = ops_by_bucket(event);
    std::erase_if(all, [&](const auto& p) { return p.second.at("type").as_string() != type; });
    return all;
}

const TenantWeights kNone;

}  // namespace

TEST_CASE("the seed example: proof of funds maps onto the app's workflow", "[connex][evaluator]") {
    auto req =
        request("Re: 4412 Maple Ave",
                "Before we can accept your offer the seller needs to see proof of funds. Can "
                "you send over a bank statement or a POF letter?");
    req["currentStatus"] = "LOI Sent";
    req["workflow"] = json::parse(R"({"statuses": ["LOI Sent", "Needs POF", "Dead"],
        "inboxes": ["Sales", "Human Approval"],
        "transitions": {"LOI Sent": ["Needs POF", "Dead"]},
        "canonicalMappings": {"proof_of_funds_requested": "Needs POF"}})");
    auto r = evaluate_event(req, kNone, ctx());
    const auto& status = r.at("status").as_object();
    CHECK(status.at("canonical").at("status") == "proof_of_funds_requested");
    CHECK(status.at("canonical").at("priority") == "high");
    CHECK(status.at("canonical").at("approvalRequired") == true);
    CHECK(status.at("canonical").at("nextBestAction") == "Ask the buyer to upload proof of funds");
    const auto& mapped = status.at("mapped").as_object();
    CHECK(mapped.at("currentStatus") == "LOI Sent");
    CHECK(mapped.at("status") == "Needs POF");
    CHECK(mapped.at("inbox") == "Human Approval");
    CHECK(mapped.at("transitionAllowed") == true);
    auto task = ops_of(r, "create_task");
    REQUIRE(task.size() == 1);
    CHECK(task[0].first == "humanReview");
    CHECK(task[0].second.at("label") == "Request proof of funds");
    CHECK(task[0].second.at("approvalRequired") == true);
    auto route = ops_of(r, "route_inbox");
    REQUIRE(route.size() == 1);
    CHECK(route[0].second.at("label") == "Move to Human Approval");
    auto update = ops_of(r, "update_status");
    REQUIRE(update.size() == 1);
    CHECK(update[0].first == "autoApply");
    CHECK(update[0].second.at("payload").at("to") == "Needs POF");
    CHECK(ops_of(r, "require_approval").at(0).first == "humanReview");
}

TEST_CASE("reply policies: drafts are never sent, and only Connex-allowed replies are drafts",
          "[connex][evaluator][safety]") {
    auto base = request("Re: Demo", "Yes, let's set up a demo. I'm free Tue 2-4pm ET.");
    struct Case {
        const char* owner;
        const char* policy;
        const char* bucket;
        bool recommendation_only;
    };
    for (auto c : {Case{nullptr, nullptr, "drafts", false},
                   Case{"connex", "connex_allowed", "drafts", false},
                   Case{"customer_domain", "connex_allowed", "drafts", false},
                   Case{"source_app", nullptr, "humanReview", true},
                   Case{"source_app", "source_app_only", "humanReview", true},
                   Case{"connex", "disabled", "blocked", true}}) {
        auto req = base;
        json::object mb;
        if (c.owner) mb["senderIdentityOwner"] = c.owner;
        if (c.policy) mb["replyPolicy"] = c.policy;
        if (c.owner || c.policy) req["sourceMailbox"] = mb;
        INFO((c.owner ? c.owner : "-") << " / " << (c.policy ? c.policy : "-"));
        REQUIRE(validate_event_request(req).empty());
        auto r = evaluate_event(req, kNone, ctx());
        auto drafts = ops_of(r, "draft_reply");
        REQUIRE(drafts.size() == 1);
        CHECK(drafts[0].first == c.bucket);
        CHECK(drafts[0].second.at("approvalRequired") == true);
        CHECK(drafts[0].second.at("payload").at("recommendationOnly") == c.recommendation_only);
        CHECK(drafts[0].second.at("blocked") == (std::string_view(c.bucket) == "blocked"));
        if (c.owner && std::string_view(c.owner) == "customer_domain")
            CHECK(drafts[0].second.at("payload").at("replyVia") == "customer_domain");
        CHECK(r.contains("shadowMessage") == (c.owner || c.policy));
    }
}

TEST_CASE("nothing that needs a human is ever auto-applied", "[connex][evaluator][safety]") {
    const char* bodies[] = {"Please remove me from your list.",
                            "This is spam, how did you get my email?",
                            "Can you sign off on the budget?",
                            "Would you take 165k?",
                            "Sounds good, send it over.",
                            "What does the Pro plan cost?",
                            "I was charged twice and nobody responded. Unacceptable."};
    for (const char* policy : {"connex_allowed", "source_app_only", "disabled"}) {
        for (const char* body : bodies) {
            auto req = request("Re: hello", body);
            req["sourceMailbox"] = {{"replyPolicy", policy}};
            auto r = evaluate_event(req, kNone, ctx());
            for (const auto& [bucket, op] : ops_by_bucket(r)) {
                INFO(policy << " | " << body << " | " << json::serialize(op));
                if (bucket == "autoApply") {
                    CHECK(op.at("type") != "draft_reply");
                    CHECK(op.at("type") != "require_approval");
                    CHECK(op.at("approvalRequired") == false);
                }
                CHECK(op.at("blocked") == (bucket == "blocked"));
                if (bucket == "humanReview" || bucket == "drafts")
                    CHECK(op.at("approvalRequired") == true);
            }
            CHECK(r.at("status").at("canonical").at("blockedActions").as_array().at(0) ==
                  "send_email");
        }
    }
}

TEST_CASE("unsubscribes, complaints and hard bounces suppress the contact",
          "[connex][evaluator][safety]") {
    auto suppress = [](const json::object& req) {
        return ops_of(evaluate_event(req, kNone, ctx()), "suppress_contact");
    };

    auto unsub = suppress(request("Re: deals", "Please take me off your mailing list."));
    REQUIRE(unsub.size() == 1);
    CHECK(unsub[0].first == "autoApply");
    CHECK(unsub[0].second.at("payload").at("contact") == "dana@example.com");
    CHECK(unsub[0].second.at("target").at("objectType") == "contact");

    auto spam = suppress(request("Re: offer", "Stop spamming me. I never signed up for this."));
    REQUIRE(spam.size() == 1);
    CHECK(spam[0].first == "autoApply");
    CHECK(spam[0].second.at("payload").at("reason") == "spam_complaint");

    auto service = suppress(
        request("Complaint", "I was charged twice and nobody has responded. Unacceptable."));
    REQUIRE(service.size() == 1);
    CHECK(service[0].first == "humanReview");  // an existing customer is not silently dropped

    auto hard =
        suppress(request("Undelivered Mail Returned to Sender",
                         "<jdoe@oldcorp.com>: host mx1.oldcorp.com said: 550 5.1.1 User unknown",
                         "MAILER-DAEMON@mx.example.net"));
    REQUIRE(hard.size() == 1);
    CHECK(hard[0].second.at("payload").at("contact") == "jdoe@oldcorp.com");

    auto soft = suppress(request("Delivery Status Notification (Delay)",
                                 "Delivery to the following recipient has been delayed: a@b.com. "
                                 "Message will be retried for 1 more day(s)",
                                 "postmaster@mx.example.com"));
    CHECK(soft.empty());

    // The unsubscribe's draft is blocked, not merely omitted, so apps see "do not reply".
    auto r = evaluate_event(request("Re: deals", "unsubscribe"), kNone, ctx());
    CHECK(ops_of(r, "draft_reply").at(0).first == "blocked");
}

TEST_CASE("outbound and agent events get no replies or suppressions", "[connex][evaluator]") {
    auto req = request("Re: list", "Please remove me from your list.");
    req["eventType"] = "outbound_sent";
    auto r = evaluate_event(req, kNone, ctx());
    CHECK(ops_of(r, "suppress_contact").empty());
    CHECK(ops_of(r, "draft_reply").empty());
}

TEST_CASE("workflow transitions decide update_status", "[connex][evaluator][workflow]") {
    auto req = request("Re: offer", "Thanks but we're not interested.");
    req["currentStatus"] = "Under Contract";
    SECTION("a forbidden transition blocks the status move") {
        req["workflow"] = json::parse(R"({"statuses": ["Under Contract", "Dead"],
            "transitions": {"Under Contract": ["Closed"]},
            "canonicalMappings": {"not_interested": "Dead"}})");
        auto r = evaluate_event(req, kNone, ctx());
        CHECK(r.at("status").at("mapped").at("transitionAllowed") == false);
        auto u = ops_of(r, "update_status");
        REQUIRE(u.size() == 1);
        CHECK(u[0].first == "blocked");
        CHECK(std::string_view(u[0].second.at("reason").as_string()).find("does not allow") !=
              std::string_view::npos);
    }
    SECTION("array form with a wildcard source") {
        req["workflow"] = json::parse(R"({"statuses": ["Under Contract", "Dead"],
            "transitions": [{"from": "*", "to": ["Dead"]}],
            "canonicalMappings": {"not_interested": {"status": "Dead", "inbox": "Archive", "taskType": "close_out"}}})");
        auto r = evaluate_event(req, kNone, ctx());
        const auto& m = r.at("status").at("mapped");
        CHECK(m.at("transitionAllowed") == true);
        CHECK(m.at("inbox") == "Archive");
        CHECK(m.at("taskType") == "close_out");
        CHECK(ops_of(r, "update_status").at(0).first == "autoApply");
    }
    SECTION("a status with no rules from it is terminal") {
        req["workflow"] = json::parse(R"({"statuses": ["Under Contract", "not interested"],
            "transitions": {"New": ["Under Contract"]}})");
        auto r = evaluate_event(req, kNone, ctx());
        CHECK(r.at("status").at("mapped").at("status") == "not interested");  // matched by name
        CHECK(r.at("status").at("mapped").at("transitionAllowed") == false);
    }
    SECTION("a null mapping keeps the current status") {
        req["workflow"] = json::parse(R"({"canonicalMappings": {"not_interested": null}})");
        auto r = evaluate_event(req, kNone, ctx());
        CHECK(r.at("status").at("mapped").at("status") == "Under Contract");
        CHECK(ops_of(r, "update_status").empty());
    }
    SECTION("without a workflow the canonical status is the app status") {
        auto r = evaluate_event(req, kNone, ctx());
        CHECK(r.at("status").at("mapped").at("status") == "not_interested");
        CHECK(r.at("status").at("mapped").at("transitionReason") == "no workflow provided");
    }
}

TEST_CASE("auto-replies and noise never move the app status", "[connex][evaluator][workflow]") {
    auto req = request("Automatic reply: Re: offer", "I am out of the office until Monday.");
    req["currentStatus"] = "LOI Sent";
    auto r = evaluate_event(req, kNone, ctx());
    CHECK(r.at("status").at("canonical").at("status") == "out_of_office");
    CHECK(r.at("status").at("mapped").at("status") == "LOI Sent");
    CHECK(ops_of(r, "update_status").empty());
}

TEST_CASE("low confidence sends status moves and tasks to review", "[connex][evaluator]") {
    // Two intents with close scores: pricing (quote) and contract terms.
    auto r =
        evaluate_event(request("Re: hi", "Can you send the quote and the contract?"), kNone, ctx());
    double conf = r.at("status").at("canonical").at("confidence").as_double();
    REQUIRE(conf < kAutoApplyMinConfidence);
    CHECK(ops_of(r, "update_status").at(0).first == "humanReview");
    CHECK(ops_of(r, "create_task").at(0).first == "humanReview");
    CHECK(!r.at("status").at("integration").at("warnings").as_array().empty());
}

TEST_CASE("evaluation is deterministic and ids are stable", "[connex][evaluator]") {
    auto req = request("Re: counter", "We can meet you at $1.2M if you cover closing costs.");
    req["sourceSystem"] = "crm";
    req["sourceEventId"] = "evt_9";
    auto a = json::serialize(evaluate_event(req, kNone, ctx()));
    auto b = json::serialize(evaluate_event(req, kNone, ctx()));
    CHECK(a == b);
    auto r = evaluate_event(req, kNone, ctx());
    CHECK(r.at("status").at("integration").at("idempotencyKey") == "crm:evt_9");
    auto c2 = ctx();
    c2.id_seed = "evt_row_42";
    c2.idempotency_key = "idem-1";
    auto r2 = evaluate_event(req, kNone, c2);
    CHECK(r2.at("status").at("integration").at("idempotencyKey") == "idem-1");
    CHECK(r2.at("status").at("operations").at(0).at("id") !=
          r.at("status").at("operations").at(0).at("id"));
    CHECK(r.at("status").at("operations").at(0).at("id").as_string().starts_with("op_"));
}

TEST_CASE("preview is summary only and never echoes the message", "[connex][evaluator][preview]") {
    auto req = request("Need approval before moving forward zqxmarker",
                       "Can you confirm terms before we proceed? zqxmarker-body");
    req["sourceMailbox"] = {{"senderIdentityOwner", "source_app"},
                            {"replyPolicy", "source_app_only"}};
    auto p = preview(req);
    auto text = json::serialize(p);
    INFO(text);
    CHECK(text.find("zqxmarker") == std::string::npos);
    CHECK(text.find("dana@example.com") == std::string::npos);
    CHECK(text.find("\"payload\":") == std::string::npos);
    CHECK(text.find("suggestedText") == std::string::npos);
    CHECK(p.at("previewOnly") == true);
    CHECK(p.at("reasoning").at("mode") == "dry_run");
    CHECK(p.at("reasoning").at("usedLiveModel") == false);
    for (const auto& [bucket, ops] : p.at("operationBuckets").as_object())
        for (const auto& op : ops.as_array()) CHECK(op.is_string());
    CHECK(p.at("status").at("canonical").at("status") == "approval_requested");
}

TEST_CASE("materialize_safe dispatches internal work only", "[connex][evaluator]") {
    auto req = request("Re: Demo", "Yes, let's set up a demo. I'm free Tue 2-4pm ET.");
    auto r = evaluate_event(req, kNone, ctx());
    CHECK(r.at("materialization").at("materialized") == false);
    CHECK(r.at("materialization").at("mode") == "recommend");

    req["applyMode"] = "materialize_safe";
    r = evaluate_event(req, kNone, ctx());
    const auto& m = r.at("materialization").as_object();
    CHECK(m.at("materialized") == true);
    std::set<std::string> types;
    for (const auto& d : m.at("dispatches").as_array()) {
        types.insert(std::string(d.at("type").as_string()));
        CHECK(d.at("external") == false);
    }
    CHECK(types == std::set<std::string>{"create_task", "draft_reply"});
    CHECK(r.at("status").at("integration").at("mode") == "recommend");  // the schema's const

    req["sourceMailbox"] = {{"replyPolicy", "source_app_only"}};
    r = evaluate_event(req, kNone, ctx());
    bool draft_skipped = false;
    for (const auto& s : r.at("materialization").at("skipped").as_array())
        draft_skipped = draft_skipped || s.at("type") == "draft_reply";
    CHECK(draft_skipped);
}

TEST_CASE("fitScore blends the status with the deal's numbers", "[connex][evaluator]") {
    auto req = request("Re: duplex", "Sounds good, send it over.");
    auto plain = evaluate_status(req, kNone, ctx()).at("canonical").at("fitScore").as_int64();
    req["context"] = {
        {"askingPrice", 200000}, {"arv", 300000}, {"repairs", 10000}};  // 200k max offer
    auto good = evaluate_status(req, kNone, ctx()).at("canonical").at("fitScore").as_int64();
    req["context"] = {{"askingPrice", 400000}, {"arv", 300000}, {"repairs", 10000}};
    auto bad = evaluate_status(req, kNone, ctx()).at("canonical").at("fitScore").as_int64();
    CHECK(plain == 90);
    CHECK(good == 95);
    CHECK(bad < 75);
}

TEST_CASE("urgency raises priority for conversation statuses only", "[connex][evaluator]") {
    auto urgent =
        evaluate_status(request("Re: q", "Is the roof original? Need to know ASAP."), kNone, ctx());
    CHECK(urgent.at("canonical").at("priority") == "high");  // question: medium → high
    auto ooo = evaluate_status(
        request("Out of office", "I am out of the office. For urgent matters call Bob."), kNone,
        ctx());
    CHECK(ooo.at("canonical").at("priority") == "low");
}
