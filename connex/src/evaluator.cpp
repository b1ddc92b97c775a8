#include "connex/evaluator.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>

#include "evaluation.hpp"

namespace postern::connex {
namespace json = boost::json;
namespace {

// 0..100: the status's engagement value, blended half-and-half with the deal's economics when the
// context has them (70% rule: max offer = 0.7 × ARV − repairs, against the asking price), then
// shifted by what this tenant's outcomes say about the status.
int fit_score(const RequestView& req, const Classification& c, const TenantWeights& w) {
    double fit = info(c.status).fit_base;
    double arv = 0, asking = 0, repairs = 0;
    if (number(req.context, "arv", arv) && number(req.context, "askingPrice", asking) && arv > 0 &&
        asking > 0) {
        number(req.context, "repairs", repairs);
        double max_offer = 0.7 * arv - std::max(0.0, repairs);
        double deal = std::clamp(100.0 * max_offer / asking, 0.0, 100.0);
        fit = 0.5 * fit + 0.5 * deal;
    }
    return std::clamp(static_cast<int>(std::lround(fit)) + w.fit_delta(c.status), 0, 100);
}

json::array string_array(const std::vector<std::string>& v, const json::storage_ptr& sp) {
    json::array a(sp);
    for (const auto& s : v) a.emplace_back(s);
    return a;
}

json::object canonical(const Evaluation& e, const json::storage_ptr& sp) {
    const auto& si = info(e.c.status);
    json::array safe(sp), blocked({"send_email"}, sp);
    auto add_unique = [](json::array& a, std::string_view t) {
        if (std::none_of(a.begin(), a.end(),
                         [&](const json::value& v) { return v.as_string() == t; }))
            a.emplace_back(t);
    };
    for (const auto& op : e.ops) {
        if (op.bucket == Bucket::auto_apply || op.bucket == Bucket::drafts)
            add_unique(safe, op.type);
        if (op.bucket == Bucket::blocked) add_unique(blocked, op.type);
    }
    if (si.stops_outreach) add_unique(blocked, "continue_sequence");
    json::object o(8, sp);
    o["status"] = si.name;
    o["priority"] = name(e.c.priority);
    o["confidence"] = e.c.confidence;
    o["nextBestAction"] = si.next_best_action;
    o["approvalRequired"] = si.approval_required;
    o["safeActions"] = std::move(safe);
    o["blockedActions"] = std::move(blocked);
    o["fitScore"] = e.fit;
    return o;
}

json::object mapped(const Evaluation& e, const EvalContext* ctx, const json::storage_ptr& sp) {
    json::object m(8, sp);
    if (ctx) m["appId"] = ctx->app_id.empty() ? e.req.app : std::string_view(ctx->app_id);
    m["appName"] = e.req.app;
    m["currentStatus"] =
        e.req.has_current ? json::value(e.req.current_status, sp) : json::value(sp);
    m["status"] = e.map.status;
    m["inbox"] = e.map.inbox;
    m["taskType"] = e.map.task_type;
    m["transitionAllowed"] = e.map.transition_allowed;
    m["transitionReason"] = e.map.transition_reason;
    return m;
}

json::object reasoning(const Evaluation& e, std::string_view mode, bool preview,
                       const json::storage_ptr& sp) {
    json::array signals(sp);
    for (const auto& s : e.c.signals) {
        json::object o({{"status", name(s.status)}, {"signal", s.feature}, {"weight", s.weight}},
                       sp);
        if (!preview) o["source"] = s.in_subject ? "subject" : "body";
        signals.push_back(std::move(o));
    }
    json::object scores(sp);
    for (const auto& row : all_statuses())
        if (double v = e.c.scores[static_cast<std::size_t>(row.status)]; v > 0)
            scores[row.name] = std::round(v * 100.0) / 100.0;
    json::object o({{"provider", "deterministic"},
                    {"mode", mode},
                    {"model", kRulesVersion},
                    {"usedLiveModel", false},
                    {"negotiationSpecialist", false},
                    {"rulesVersion", kRulesVersion},
                    {"ruleConfidence", e.c.rule_confidence}},
                   sp);
    o["signals"] = std::move(signals);
    o["scores"] = std::move(scores);
    return o;
}

json::object status_response(const Evaluation& e, const EvalContext& ctx, bool with_reasoning,
                             const json::storage_ptr& sp) {
    json::array ops(sp), order(sp);
    for (const auto& op : e.ops) {
        ops.push_back(to_json(op, e.req, sp));
        if (op.bucket != Bucket::blocked) order.emplace_back(op.id);
    }
    json::object integration(4, sp);
    integration["mode"] = "recommend";
    integration["idempotencyKey"] = e.idempotency_key;
    integration["applyOrder"] = std::move(order);
    integration["warnings"] = string_array(e.warnings, sp);
    json::object out(7, sp);
    out["type"] = "connex.status.evaluation";
    out["tenantId"] = ctx.tenant_id;
    out["canonical"] = canonical(e, sp);
    out["mapped"] = mapped(e, &ctx, sp);
    out["operations"] = std::move(ops);
    out["integration"] = std::move(integration);
    if (with_reasoning) out["reasoning"] = reasoning(e, ctx.reasoning_mode, false, sp);
    return out;
}

json::object empty_buckets(const json::storage_ptr& sp) {
    json::object b(sp);
    for (auto name : {"autoApply", "humanReview", "blocked", "drafts"}) b[name] = json::array(sp);
    return b;
}

// Builds into a stack arena and serialises: one allocation for the result string instead of one
// per JSON node.
template <class Build>
std::string in_arena(Build&& build) {
    unsigned char buffer[32 * 1024];
    json::monotonic_resource arena(buffer, sizeof buffer);
    json::storage_ptr sp(&arena);
    return json::serialize(build(sp));
}

}  // namespace

Evaluation run(const json::object& request, const TenantWeights& w, const EvalContext& ctx,
               const json::storage_ptr& sp) {
    Evaluation e;
    e.req = read_request(request);
    const auto& r = e.req;
    auto h = fnv1a(r.app);
    for (auto part :
         {r.source_system, r.source_event_id, r.current_status, r.from, r.subject, r.body})
        h = fnv1a(part, fnv1a("|", h));
    e.seed = !ctx.id_seed.empty() ? ctx.id_seed : "cxe_" + hex16(h);
    if (!ctx.idempotency_key.empty()) {
        e.idempotency_key = ctx.idempotency_key;
    } else if (!r.source_event_id.empty()) {
        e.idempotency_key = fmt::format("{}:{}", r.source_system.empty() ? r.app : r.source_system,
                                        r.source_event_id);
    } else {
        e.idempotency_key = "cxi_" + hex16(h);
    }
    e.c = classify({r.subject, r.body, r.from}, w);
    e.map = map_workflow(r.workflow, r.has_current ? std::optional(r.current_status) : std::nullopt,
                         e.c.status);
    e.warnings = e.map.warnings;
    e.ops = build_operations(r, e.c, e.map, w, e.seed, e.warnings, sp);
    e.fit = fit_score(r, e.c, w);
    return e;
}

json::object evaluate_status(const json::object& request, const TenantWeights& weights,
                             const EvalContext& ctx, json::storage_ptr sp) {
    return status_response(run(request, weights, ctx, sp), ctx, true, sp);
}

json::object evaluate_event(const json::object& request, const TenantWeights& weights,
                            const EvalContext& ctx, json::storage_ptr sp) {
    auto e = run(request, weights, ctx, sp);
    auto buckets = empty_buckets(sp);
    for (const auto& op : e.ops)
        buckets[bucket_name(op.bucket)].as_array().push_back(to_json(op, e.req, sp));
    json::object out(10, sp);
    out["type"] = "connex.integration.event.result";
    out["tenantId"] = ctx.tenant_id;
    out["status"] = status_response(e, ctx, false, sp);
    out["operationBuckets"] = std::move(buckets);
    out["networkEnvelope"] = network_envelope(e, sp);
    out["materialization"] = materialization(e, sp);
    out["graphHints"] = graph_hints(e, sp);
    if (e.req.has_mailbox) out["shadowMessage"] = shadow_message(e, ctx, sp);
    out["reasoning"] = reasoning(e, ctx.reasoning_mode, false, sp);
    return out;
}

json::object preview(const json::object& request, json::storage_ptr sp) {
    static const TenantWeights kNoWeights;
    EvalContext ctx;
    auto e = run(request, kNoWeights, ctx, sp);
    auto buckets = empty_buckets(sp);
    for (const auto& op : e.ops) buckets[bucket_name(op.bucket)].as_array().emplace_back(op.type);
    json::object status(sp);
    status["canonical"] = canonical(e, sp);
    status["mapped"] = mapped(e, nullptr, sp);
    status["warnings"] = string_array(e.warnings, sp);
    json::object out(
        {{"type", "connex.integration.preview.result"},
         {"previewOnly", true},
         {"persistence", {{"persisted", false}, {"reason", "public_preview_no_storage"}}}},
        sp);
    out["status"] = std::move(status);
    out["operationBuckets"] = std::move(buckets);
    out["networkEnvelope"] = network_envelope(e, sp);
    out["reasoning"] = reasoning(e, "dry_run", true, sp);
    out["guarantees"] = json::array(
        {"nothing was stored", "no email was sent", "no live model was called",
         "the message body is not echoed", "operation payloads and draft text are omitted"},
        sp);
    return out;
}

std::string evaluate_status_json(const json::object& request, const TenantWeights& weights,
                                 const EvalContext& ctx) {
    return in_arena(
        [&](const json::storage_ptr& sp) { return evaluate_status(request, weights, ctx, sp); });
}

std::string evaluate_event_json(const json::object& request, const TenantWeights& weights,
                                const EvalContext& ctx) {
    return in_arena(
        [&](const json::storage_ptr& sp) { return evaluate_event(request, weights, ctx, sp); });
}

std::string preview_json(const json::object& request) {
    return in_arena([&](const json::storage_ptr& sp) { return preview(request, sp); });
}

}  // namespace postern::connex
