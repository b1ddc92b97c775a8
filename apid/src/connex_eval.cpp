// The evaluating Connex routes: POST /api/connex/status (pure, not stored),
// POST /api/connex/integration-preview (public, pure, summary only) and
// POST /api/connex/integration-event (stored, idempotent on sourceSystem + sourceEventId).
#include <boost/json.hpp>
#include <memory>
#include <optional>

#include "apid/auto_evaluate.hpp"
#include "apid/live_reasoner.hpp"
#include "apid/problem.hpp"
#include "common/ascii.hpp"
#include "common/log.hpp"
#include "connex/evaluator.hpp"
#include "connex_handlers.hpp"
#include "connex_plan.hpp"
#include "storage/connex_repo.hpp"

namespace postern::api {

namespace json = boost::json;

namespace {

// The stored result of an earlier event with the same source id: the same response for the same
// request; 409 when the id was used for another request (API.md, "Writes").
Response replay(const storage::StoredConnexEvent& stored, const std::string& hash,
                std::string_view source_event_id) {
    if (stored.request_hash != hash)
        return problem(409, "sourceEventId '" + std::string(source_event_id) +
                                "' was already used with a different request");
    auto body = expand_result_text(stored.result_json);
    if (!body) return storage_failure(body.error(), "connex replay");
    Response r = Response::json(200, std::move(*body));
    r.add_header("Idempotent-Replayed", "true");
    return r;
}

// The tenant's daily event quota: a 429 (or 500) to send, or nothing when the event may proceed.
std::optional<Response> quota_check(const Context& c) {
    auto& quota = c.connex.quota();
    if (quota.limit() <= 0) return std::nullopt;
    const std::string& tenant = c.token->tenant_id;
    auto d = quota.take(tenant, c.now, [&](std::int64_t day_start) {
        return storage::count_connex_events(c.db, tenant, day_start);
    });
    if (!d) return storage_failure(d.error(), "connex quota");
    if (!d->allowed)
        return too_many_requests(d->retry_after_seconds, "the tenant's daily event quota");
    return std::nullopt;
}

// Writes a planned event through the group-commit writer and answers with it (or with the
// first response, when a concurrent duplicate of the same source event won).
Response write_planned(const std::shared_ptr<EventPlan>& plan, const std::string& actor) {
    // Shared by the job (writer thread) and the reply (session strand), which run in order.
    struct Outcome {
        std::optional<storage::StoredConnexEvent> earlier;  // a concurrent duplicate won
    };
    auto outcome = std::make_shared<Outcome>();
    return deferred(
        [plan, outcome, actor](storage::Database& db) -> Result<void> {
            auto inserted = write_event(db, *plan, actor);
            if (!inserted) return tl::unexpected(inserted.error());
            if (*inserted || !plan->row.source_event_id) return {};
            auto stored = storage::find_connex_event_by_source(
                db, plan->row.tenant_id, plan->row.source_system, *plan->row.source_event_id);
            if (!stored) return tl::unexpected(stored.error());
            outcome->earlier = std::move(*stored);
            return {};
        },
        [plan, outcome](const Result<void>& r) -> Response {
            if (!r) return storage_failure(r.error(), "integration-event write");
            if (outcome->earlier)
                return replay(*outcome->earlier, plan->row.request_hash,
                              plan->row.source_event_id.value_or(""));
            return Response::json(200, plan->body);
        });
}

// What the live model is told: the message (subject, start of the body) and the deterministic
// status. Nothing else of the request (no ids, no workflow, no keys) leaves the process.
std::string live_context(const json::object& request, const EventPlan& plan) {
    std::string out;
    if (auto* m = request.if_contains("message"); m && m->is_object()) {
        out += "Subject: ";
        out += str_member(m->get_object(), "subject");
        std::string_view body = str_member(m->get_object(), "body");
        if (body.size() > 2000) {  // cut on a UTF-8 boundary: the model gets valid JSON text
            std::size_t n = 2000;
            while (n > 0 && (static_cast<unsigned char>(body[n]) & 0xC0) == 0x80) --n;
            body = body.substr(0, n);
        }
        out += "\n\n";
        out += body;
        out += "\n\n";
    }
    boost::system::error_code ec;
    auto v = json::parse(plan.body, ec);
    if (!ec && v.is_object())
        if (auto* st = v.get_object().if_contains("status"); st && st->is_object()) {
            json::object summary;
            for (std::string_view k : {"status", "priority", "nextBestAction", "approvalRequired",
                                       "safeActions", "blockedActions"})
                if (auto* f = st->get_object().if_contains(k)) summary[k] = *f;
            out += "Deterministic evaluation: " + json::serialize(summary);
        }
    return out;
}

// Puts the advice into the response as sent and as stored (both forms carry `reasoning`).
void apply_live(EventPlan& plan, const LiveReasoner& live, const LiveAdvice& advice) {
    for (std::string* text : {&plan.body, &plan.row.result_json}) {
        boost::system::error_code ec;
        auto v = json::parse(*text, ec);
        if (ec || !v.is_object()) continue;
        live.apply(v.get_object(), advice);
        *text = json::serialize(v);
    }
}

}  // namespace

Response handle_connex_status(const Context& c) {
    json::monotonic_resource arena(16 * 1024);
    auto body = parse_object_body(c, c.connex.options().max_body_bytes, false, &arena);
    if (!body) return std::move(body.error());
    if (auto errors = connex::validate_status_request(*body); !errors.empty())
        return invalid_body(errors);
    auto weights = c.connex.weights().get(c.token->tenant_id, c.db);
    if (!weights) return storage_failure(weights.error(), "connex weights");
    connex::EvalContext ctx;
    ctx.tenant_id = c.token->tenant_id;
    return Response::json(200, connex::evaluate_status_json(body->get_object(), **weights, ctx));
}

Response handle_connex_preview(const Context& c) {
    json::monotonic_resource arena(16 * 1024);
    auto body = parse_object_body(c, c.connex.options().preview_max_body_bytes, false, &arena);
    if (!body) return std::move(body.error());
    if (auto errors = connex::validate_event_request(*body); !errors.empty())
        return invalid_body(errors);
    return Response::json(200, connex::preview_json(body->get_object()));
}

Response handle_connex_event(const Context& c) {
    json::monotonic_resource arena(16 * 1024);
    auto body = parse_object_body(c, c.connex.options().max_body_bytes, false, &arena);
    if (!body) return std::move(body.error());
    if (auto errors = connex::validate_event_request(*body); !errors.empty())
        return invalid_body(errors);
    const json::object& request = body->get_object();
    const std::string& tenant = c.token->tenant_id;
    std::string hash = request_hash(*body);

    // Idempotency: a source event already evaluated gets its first response back.
    std::string source_event_id(str_member(request, "sourceEventId"));
    std::string source_system(str_member(request, "sourceSystem"));
    if (source_system.empty()) source_system = std::string(str_member(request, "app"));
    // Postern's own evaluations of stored mail live under sourceSystem "postern", keyed by the
    // message id (auto_evaluate.cpp): an event posted there first would be taken for the
    // message's evaluation.
    if (iequals_ascii(source_system, kAutoEvaluateSource))
        return bad_request({{str_member(request, "sourceSystem").empty() ? "app" : "sourceSystem",
                             "\"postern\" is reserved for Postern's own evaluations of stored "
                             "mail; name your system"}});
    if (!source_event_id.empty()) {
        auto stored =
            storage::find_connex_event_by_source(c.db, tenant, source_system, source_event_id);
        if (!stored) return storage_failure(stored.error(), "find_connex_event_by_source");
        if (*stored) return replay(**stored, hash, source_event_id);
    }
    if (auto refused = quota_check(c)) return std::move(*refused);

    auto weights = c.connex.weights().get(tenant, c.db);
    if (!weights) return storage_failure(weights.error(), "connex weights");
    auto plan = std::make_shared<EventPlan>(plan_event(request, **weights, tenant, hash, c.now));

    if (!c.connex.live().enabled()) return write_planned(plan, c.token->id);
    // The live provider: its call blocks (bounded by reasoning_timeout_ms), so it runs on the
    // server's worker pool, then the event is written as usual. Only what it needs is copied out
    // of the request (whose JSON lives in this call's arena).
    std::string context = live_context(request, *plan);
    const LiveReasoner* live = &c.connex.live();  // owned by the Api, outlives every request
    Response r;
    r.blocking = std::make_shared<std::function<Response()>>(
        [plan, live, context = std::move(context), actor = c.token->id]() -> Response {
            LiveAdvice advice = live->advise(context);
            if (!advice.used) spdlog::warn("connex live reasoning fell back: {}", advice.failure);
            apply_live(*plan, *live, advice);
            return write_planned(plan, actor);
        });
    return r;
}

}  // namespace postern::api
