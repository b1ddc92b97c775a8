// The parts of IntegrationEventResponse beyond the status: network envelope, graph hints,
// materialization and the shadow-copy receipt.
#include <fmt/format.h>

#include <algorithm>
#include <boost/json.hpp>

#include "evaluation.hpp"

namespace postern::connex {
namespace json = boost::json;
namespace {

json::value str_or_null(std::string_view s, const json::storage_ptr& sp) {
    return s.empty() ? json::value(nullptr, sp) : json::value(s, sp);
}

bool needs_human(const Evaluation& e) {
    return info(e.c.status).approval_required ||
           std::any_of(e.ops.begin(), e.ops.end(), [](const Operation& op) {
               return op.bucket == Bucket::human_review || op.bucket == Bucket::drafts;
           });
}

std::string_view sentiment(Status s) {
    using enum Status;
    switch (s) {
        case positive_interest:
        case meeting_requested:
        case pricing_question:
        case documents_provided:
            return "positive";
        case not_interested:
        case complaint_or_spam:
        case unsubscribe_request:
        case cancellation_request:
        case delivery_failure:
            return "negative";
        default:
            return "neutral";
    }
}

bool materializable(const Operation& op) {
    return op.type == "create_task" || op.type == "require_approval" || op.type == "draft_reply";
}

}  // namespace

json::object network_envelope(const Evaluation& e, const json::storage_ptr& sp) {
    const auto& r = e.req;
    const auto& si = info(e.c.status);
    json::object n(sp);
    n["sourceSystem"] = r.source_system.empty() ? r.app : r.source_system;
    if (!r.source_event_id.empty()) n["sourceEventId"] = r.source_event_id;
    n["app"] = r.app;
    n["objectType"] = r.object_type.empty() ? std::string_view("message") : r.object_type;
    n["objectId"] = str_or_null(r.object_id, sp);
    n["messageId"] = str_or_null(r.message_id, sp);
    n["recommendedAgentAction"] = si.agent_action;
    n["trustRequired"] = name(si.trust);
    n["humanApprovalRequired"] = needs_human(e);
    return n;
}

json::object graph_hints(const Evaluation& e, const json::storage_ptr& sp) {
    const auto& r = e.req;
    json::array nodes(sp), edges(sp);
    nodes.push_back(json::object({{"type", "app"}, {"key", r.app}}, sp));
    std::string_view object_type = r.object_type.empty() ? "object" : r.object_type;
    std::string object_key = r.object_id.empty() ? fmt::format("app:{}", r.app)
                                                 : fmt::format("{}:{}", object_type, r.object_id);
    if (!r.object_id.empty())
        nodes.push_back(json::object({{"type", object_type}, {"key", r.object_id}}, sp));
    if (auto contact = address_of(r.from); !contact.empty()) {
        nodes.push_back(json::object({{"type", "contact"}, {"key", contact}}, sp));
        edges.push_back(json::object({{"from", fmt::format("contact:{}", contact)},
                                      {"to", object_key},
                                      {"relationship", name(e.c.status)},
                                      {"sentiment", sentiment(e.c.status)}},
                                     sp));
    }
    if (!r.actor_id.empty()) {
        std::string_view actor_type = r.actor_type.empty() ? "agent" : r.actor_type;
        json::object actor({{"type", actor_type}, {"key", r.actor_id}}, sp);
        if (!r.actor_label.empty()) actor["label"] = r.actor_label;
        nodes.push_back(std::move(actor));
        edges.push_back(json::object({{"from", fmt::format("{}:{}", actor_type, r.actor_id)},
                                      {"to", object_key},
                                      {"relationship", "handled"}},
                                     sp));
    }
    json::object out(sp);
    out["nodes"] = std::move(nodes);
    out["edges"] = std::move(edges);
    out["signals"] = json::object(
        {{"canonicalStatus", name(e.c.status)}, {"sentiment", sentiment(e.c.status)}}, sp);
    return out;
}

json::object materialization(const Evaluation& e, const json::storage_ptr& sp) {
    json::array dispatches(sp), skipped(sp);
    for (const auto& op : e.ops) {
        if (!materializable(op)) continue;
        std::string_view why;
        if (!e.req.materialize_safe)
            why = "applyMode recommend";
        else if (op.bucket == Bucket::blocked)
            why = "blocked";
        else if (op.type == "draft_reply" && op.bucket != Bucket::drafts)
            why = "recommendation only: the reply is not Connex's to draft";
        if (!why.empty()) {
            skipped.push_back(
                json::object({{"operationId", op.id}, {"type", op.type}, {"reason", why}}, sp));
            continue;
        }
        dispatches.push_back(
            json::object({{"dispatchId", "dsp_" + hex16(fnv1a(op.id, fnv1a(e.seed)))},
                          {"operationId", op.id},
                          {"type", op.type},
                          {"label", op.label},
                          {"status", op.approval_required ? "pending_approval" : "queued"},
                          {"external", false}},
                         sp));
    }
    json::object out(sp);
    out["mode"] = e.req.materialize_safe ? "materialize_safe" : "recommend";
    out["materialized"] = !dispatches.empty();
    out["dispatches"] = std::move(dispatches);
    out["skipped"] = std::move(skipped);
    return out;
}

json::object shadow_message(const Evaluation& e, const EvalContext& ctx,
                            const json::storage_ptr& sp) {
    const auto& r = e.req;
    bool persisted = ctx.shadow && ctx.shadow->persisted;
    json::object s(sp);
    s["persisted"] = persisted;
    if (ctx.shadow && !ctx.shadow->message_id.empty()) s["messageId"] = ctx.shadow->message_id;
    if (ctx.shadow && !ctx.shadow->thread_id.empty()) s["threadId"] = ctx.shadow->thread_id;
    s["senderIdentityOwner"] = r.owner;
    s["replyPolicy"] = r.reply_policy;
    if (!r.external_reply_url.empty()) s["externalReplyUrl"] = r.external_reply_url;
    s["reason"] = persisted ? "source-controlled copy stored; replies follow replyPolicy"
                            : "evaluation only; no mailbox copy was persisted";
    return s;
}

}  // namespace postern::connex
