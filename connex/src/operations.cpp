#include "operations.hpp"

#include <fmt/format.h>

#include <boost/json.hpp>

#include "connex/evaluator.hpp"

namespace postern::connex {
namespace json = boost::json;
namespace {

// Neutral reply starters; a human edits and approves them before anything is sent.
std::string_view draft_text(Status s) {
    using enum Status;
    switch (s) {
        case approval_requested:
            return "Thanks. I'm reviewing this now and will confirm shortly.";
        case proof_of_funds_requested:
            return "Thanks. We'll send proof of funds over shortly.";
        case contract_terms:
            return "Thanks for the notes. We're reviewing the terms and will come back to you.";
        case negotiation:
            return "Thanks for the counter. Let me review it and get back to you.";
        case meeting_requested:
            return "Happy to meet. These times work on our side: [times]. Or pick a slot here: "
                   "[booking link].";
        case pricing_question:
            return "Thanks for asking. Here is our pricing: [pricing details].";
        case wrong_contact:
            return "Thanks for letting us know. We'll update our records.";
        case follow_up_later:
            return "Understood. I'll reach back out then. Thanks!";
        case documents_provided:
            return "Thanks, received. We'll review and follow up if we need anything else.";
        case positive_interest:
            return "Great to hear! Here are the next steps: [next steps].";
        case question:
            return "Thanks for the question. [answer]";
        default:
            return "";
    }
}

Operation make(std::string_view type, std::string label, Bucket bucket, std::string reason,
               const json::storage_ptr& sp) {
    Operation op(sp);
    op.type = type;
    op.label = std::move(label);
    op.bucket = bucket;
    op.reason = std::move(reason);
    op.approval_required = bucket == Bucket::human_review || bucket == Bucket::drafts;
    return op;
}

void add_suppression(const RequestView& req, const Classification& c, std::vector<Operation>& ops,
                     const json::storage_ptr& sp) {
    using enum Status;
    const auto& si = info(c.status);
    if (!req.inbound || !(si.suppresses || c.hard_bounce)) return;
    std::string contact(c.hard_bounce ? std::string_view(c.bounced_recipient)
                                      : address_of(req.from));
    Bucket bucket = Bucket::auto_apply;
    std::string reason;
    std::string_view why;
    if (c.hard_bounce) {
        why = "hard_bounce";
        reason = "hard bounce: the address does not accept mail";
    } else if (c.status == unsubscribe_request) {
        why = "unsubscribe_request";
        reason = "the contact asked to stop receiving email";
    } else if (c.spam) {
        why = "spam_complaint";
        reason = "spam complaint: stop all outreach to this contact";
    } else {
        why = "complaint";
        bucket = Bucket::human_review;
        reason = "service complaint: confirm before suppressing an existing customer";
    }
    auto op = make(
        "suppress_contact",
        contact.empty() ? std::string("Suppress the sender") : fmt::format("Suppress {}", contact),
        bucket, std::move(reason), sp);
    op.target_type = "contact";
    op.target_is_contact = true;
    op.target_id = contact;
    op.payload["contact"] = contact.empty() ? json::value(nullptr) : json::value(contact);
    op.payload["reason"] = why;
    op.payload["scope"] = "all_outbound";
    ops.push_back(std::move(op));
}

void add_draft(const RequestView& req, const Classification& c, std::vector<Operation>& ops,
               const json::storage_ptr& sp) {
    const auto& si = info(c.status);
    if (!req.inbound) return;
    if (si.suppresses) {
        auto op = make("draft_reply", "Do not reply", Bucket::blocked,
                       fmt::format("the contact must not be emailed ({})", si.name), sp);
        op.approval_required = true;
        op.payload["recommendationOnly"] = true;
        ops.push_back(std::move(op));
        return;
    }
    if (!si.reply_useful) return;
    auto op =
        req.reply_policy == "disabled"
            ? make("draft_reply", "Reply recommendation (replies disabled)", Bucket::blocked,
                   "replyPolicy disabled: reply actions are hidden; recommendation only", sp)
        : req.reply_policy == "source_app_only"
            ? make("draft_reply", "Recommend a reply to send from the source app",
                   Bucket::human_review,
                   "replyPolicy source_app_only: the source app replies; recommendation only", sp)
            : make("draft_reply", "Draft a reply", Bucket::drafts,
                   "drafts are never sent automatically; a human approves the send", sp);
    auto& payload = op.payload;
    payload["template"] = si.name;
    if (req.reply_policy == "disabled") {
        payload["recommendationOnly"] = true;
    } else if (req.reply_policy == "source_app_only") {
        payload["suggestedText"] = draft_text(c.status);
        payload["recommendationOnly"] = true;
        payload["replyVia"] = "source_app";
        if (!req.external_reply_url.empty()) payload["externalReplyUrl"] = req.external_reply_url;
    } else {
        payload["suggestedText"] = draft_text(c.status);
        payload["recommendationOnly"] = false;
        payload["replyVia"] = req.owner == "customer_domain" ? "customer_domain" : "connex";
    }
    op.approval_required = true;
    ops.push_back(std::move(op));
}

}  // namespace

std::string_view bucket_name(Bucket b) {
    switch (b) {
        case Bucket::auto_apply:
            return "autoApply";
        case Bucket::human_review:
            return "humanReview";
        case Bucket::blocked:
            return "blocked";
        case Bucket::drafts:
            return "drafts";
    }
    return "humanReview";
}

std::vector<Operation> build_operations(const RequestView& req, const Classification& c,
                                        const WorkflowMapping& m, const TenantWeights& w,
                                        std::string_view id_seed,
                                        std::vector<std::string>& warnings,
                                        const json::storage_ptr& sp) {
    const auto& si = info(c.status);
    bool low = c.confidence < kAutoApplyMinConfidence;
    std::vector<Operation> ops;
    ops.reserve(8);

    auto audit = make("write_audit_event", "Record the Connex evaluation", Bucket::auto_apply,
                      "every evaluation is audited", sp);
    audit.payload["event"] = "connex.status.evaluated";
    audit.payload["canonicalStatus"] = si.name;
    audit.payload["confidence"] = c.confidence;
    audit.payload["priority"] = name(c.priority);
    audit.payload["rulesVersion"] = kRulesVersion;
    ops.push_back(std::move(audit));

    add_suppression(req, c, ops, sp);

    if (m.changes) {
        Bucket b = !m.transition_allowed ? Bucket::blocked
                   : low                 ? Bucket::human_review
                                         : Bucket::auto_apply;
        std::string reason = b == Bucket::human_review
                                 ? fmt::format("confidence {:.2f} is below {:.2f}", c.confidence,
                                               kAutoApplyMinConfidence)
                                 : m.transition_reason;
        auto op = make("update_status", fmt::format("Set status to {}", m.status), b,
                       std::move(reason), sp);
        op.payload["from"] = req.has_current ? json::value(req.current_status) : json::value();
        op.payload["to"] = m.status;
        op.payload["canonicalStatus"] = si.name;
        ops.push_back(std::move(op));
    }

    auto route = make("route_inbox", fmt::format("Move to {}", m.inbox), Bucket::auto_apply,
                      "routing is internal and reversible", sp);
    route.payload["inbox"] = m.inbox;
    ops.push_back(std::move(route));

    if (si.approval_required) {
        auto op = make("require_approval", fmt::format("Approve before acting on {}", si.name),
                       Bucket::human_review, fmt::format("{} needs a human decision", si.name), sp);
        op.payload["reason"] = si.next_best_action;
        op.payload["approverRole"] = "owner";
        ops.push_back(std::move(op));
    }

    if (m.task_type != "none") {
        Bucket b = (si.approval_required || low) ? Bucket::human_review : Bucket::auto_apply;
        std::string reason = si.approval_required
                                 ? "the task carries a decision a human must approve"
                             : low ? fmt::format("confidence {:.2f} is below {:.2f}", c.confidence,
                                                 kAutoApplyMinConfidence)
                                   : "internal task; nothing leaves the app";
        auto op = make("create_task",
                       std::string(si.task_label.empty() ? "Triage the message" : si.task_label), b,
                       std::move(reason), sp);
        op.payload["taskType"] = m.task_type;
        op.payload["title"] = op.label;
        op.payload["priority"] = name(c.priority);
        ops.push_back(std::move(op));
    }

    add_draft(req, c, ops, sp);

    // Learned: an operation type humans rejected or overrode waits for a human again.
    for (auto& op : ops) {
        if ((op.bucket == Bucket::auto_apply || op.bucket == Bucket::drafts) &&
            w.forces_review(op.type)) {
            op.bucket = Bucket::human_review;
            op.approval_required = true;
            op.reason += fmt::format(
                "; tenant outcomes: {} was rejected or overridden, so it "
                "waits for review until approved 3 times in a row",
                op.type);
        }
    }
    if (low)
        warnings.push_back(
            fmt::format("low confidence ({:.2f}): status changes and tasks need "
                        "review",
                        c.confidence));
    if (w.spam_complaints > 0)
        warnings.push_back(
            fmt::format("tenant has {} spam complaint(s); outbound drafts need "
                        "review",
                        w.spam_complaints));
    if (req.has_mailbox && req.reply_policy != "connex_allowed")
        warnings.push_back(fmt::format("replyPolicy {}: Connex will not reply", req.reply_policy));
    if (c.truncated) warnings.push_back("message text over the scan limit; the tail was ignored");

    for (std::size_t i = 0; i < ops.size(); ++i)
        ops[i].id = "op_" + hex16(fnv1a(fmt::format("{}|{}|{}", id_seed, i, ops[i].type)));
    return ops;
}

json::object to_json(const Operation& op, const RequestView& req, const json::storage_ptr& sp) {
    json::object target(2, sp);
    if (op.target_is_contact) {
        target["objectType"] = op.target_type;
        target["objectId"] = op.target_id.empty() ? json::value() : json::value(op.target_id);
    } else {
        target["objectType"] =
            req.object_type.empty() ? std::string_view("message") : req.object_type;
        auto id = !req.object_id.empty() ? req.object_id : req.message_id;
        target["objectId"] = id.empty() ? json::value() : json::value(id);
    }
    return json::object({{"id", op.id},
                         {"type", op.type},
                         {"label", op.label},
                         {"target", std::move(target)},
                         {"payload", op.payload},
                         {"approvalRequired", op.approval_required},
                         {"blocked", op.bucket == Bucket::blocked},
                         {"reason", op.reason}},
                        sp);
}

}  // namespace postern::connex
