// The learning side of Connex: POST /api/connex/integration-outcome (records an outcome, updates
// the operation ledger and the tenant's weights, idempotent on sourceSystem + sourceOutcomeId),
// POST /api/connex/integration-insights and POST /api/connex/trust (summary-only reads), and the
// account-gated GET /api/connex/intelligence.
#include <boost/json.hpp>
#include <memory>

#include "apid/problem.hpp"
#include "common/ids.hpp"
#include "common/log.hpp"
#include "common/time.hpp"
#include "connex/insights.hpp"
#include "connex/outcome.hpp"
#include "connex/validate.hpp"
#include "connex_handlers.hpp"
#include "connex_plan.hpp"
#include "storage/connex_repo.hpp"

namespace postern::api {

namespace json = boost::json;

namespace {

// Everything the outcome job decides, handed to the reply (they run in order).
struct OutcomeWrite {
    std::string tenant_id;
    std::string source_system, source_outcome_id, request_hash;
    json::object request;  // owns its memory: the job runs on the writer thread
    std::int64_t now = 0;
    // Results
    std::optional<storage::StoredConnexOutcome> earlier;
    std::string body;
    std::optional<std::string> conflict;  // the ledger refused the transition: 409, nothing stored
    std::int64_t weights_version = 0;
    WeightsPtr weights;
};

Result<std::optional<storage::StoredConnexEvent>> referenced_event(storage::Database& db,
                                                                   const OutcomeWrite& w) {
    std::string_view event_id = str_member(w.request, "integrationEventId");
    std::string_view operation_id = str_member(w.request, "operationId");
    if (!event_id.empty()) {
        auto e = storage::find_connex_event(db, w.tenant_id, event_id, w.source_system);
        if (!e || *e || operation_id.empty()) return e;
    }
    if (!operation_id.empty())
        return storage::find_connex_event_of_operation(db, w.tenant_id, operation_id);
    return std::optional<storage::StoredConnexEvent>();
}

// Runs on the writer thread, inside its transaction: the weights are read, changed and stored
// there, so concurrent outcomes of one tenant apply one after the other.
Result<void> record_outcome(storage::Database& db, OutcomeWrite& w) {
    auto earlier =
        storage::find_connex_outcome(db, w.tenant_id, w.source_system, w.source_outcome_id);
    if (!earlier) return tl::unexpected(earlier.error());
    if (*earlier) {
        w.earlier = std::move(*earlier);
        return {};
    }
    auto event = referenced_event(db, w);
    if (!event) return tl::unexpected(event.error());
    std::string_view operation_id = str_member(w.request, "operationId");
    connex::OutcomeFacts facts;
    if (*event) {
        boost::system::error_code ec;
        auto stored = json::parse((*event)->result_json, ec);
        if (!ec && stored.is_object()) {
            expand_result(stored.get_object());
            facts = connex::facts_from_result(stored.get_object(), operation_id);
        }
    }
    auto row = storage::load_connex_weights(db, w.tenant_id);
    if (!row) return tl::unexpected(row.error());
    auto weights = parse_weights(row->json);
    if (!weights) return tl::unexpected(weights.error());
    auto learned = connex::apply_outcome(*weights, w.request, facts);
    if (facts.operation_matched && learned.applied_status) {
        auto state = storage::find_connex_operation_state(db, w.tenant_id, operation_id);
        if (!state) return tl::unexpected(state.error());
        if (*state) {
            w.conflict =
                connex::ledger_refusal((*state)->bucket, (*state)->status, *learned.applied_status);
            if (w.conflict) return {};  // the weights changed in memory only: nothing is stored
        }
    }

    storage::ConnexOutcomeRow o;
    o.id = new_id("cxo");
    o.tenant_id = w.tenant_id;
    o.source_system = w.source_system;
    o.source_outcome_id = w.source_outcome_id;
    o.request_hash = w.request_hash;
    if (*event) {
        o.event_id = (*event)->id;
        o.app = (*event)->app;
        o.object_type = (*event)->object_type;
        o.object_id = (*event)->object_id;
    }
    if (!operation_id.empty()) o.operation_id = std::string(operation_id);
    o.operation_matched = facts.operation_matched;
    o.outcome_type = std::string(str_member(w.request, "outcomeType"));
    o.learning_signal = std::string(connex::name(learned.signal));
    if (auto v = connex::json_integer(w.request.if_contains("valueScore"))) o.value_score = *v;
    if (auto v = connex::json_integer(w.request.if_contains("revenueCents"))) o.revenue_cents = *v;
    o.request_json = json::serialize(w.request);
    o.response_json = json::serialize(
        connex::outcome_response(w.tenant_id, o.id, true, w.request, learned, facts));
    o.created_at = w.now;

    if (facts.operation_matched && learned.applied_status)
        POSTERN_TRY(storage::set_connex_operation_status(db, w.tenant_id, operation_id,
                                                         *learned.applied_status, w.now)
                        .map([](bool) {}));
    w.weights_version = row->version + 1;
    POSTERN_TRY(storage::store_connex_weights(db, w.tenant_id, w.weights_version,
                                              json::serialize(connex::to_json(*weights)), w.now));
    POSTERN_TRY(storage::insert_connex_outcome(db, o));
    json::object data{
        {"outcome_id", o.id},
        {"integration_event_id", o.event_id ? json::value(*o.event_id) : json::value(nullptr)},
        {"outcome_type", o.outcome_type},
        {"learning_signal", o.learning_signal}};
    POSTERN_TRY(storage::append_event(db, w.tenant_id, std::nullopt, "connex.outcome.recorded",
                                      json::serialize(data), w.now));
    w.body = std::move(o.response_json);
    w.weights = std::make_shared<const connex::TenantWeights>(std::move(*weights));
    return {};
}

json::object insights_filters(const json::object& req, std::size_t limit,
                              storage::ConnexFilters& f) {
    json::object echo;
    auto take = [&](std::string_view key, std::optional<std::string>& slot) {
        if (auto s = str_member(req, key); !s.empty()) {
            slot = std::string(s);
            echo[key] = s;
        }
    };
    take("sourceSystem", f.source_system);
    take("app", f.app);
    take("objectType", f.object_type);
    take("objectId", f.object_id);
    echo["limit"] = limit;
    return echo;
}

connex::InsightsCounts to_insights(const storage::ConnexCounts& s) {
    auto i = [](std::int64_t v) { return static_cast<int>(std::min<std::int64_t>(v, INT32_MAX)); };
    connex::InsightsCounts c;
    c.events = i(s.events);
    c.operations = i(s.operations);
    c.operations_human_review = i(s.human_review);
    c.operations_blocked = i(s.blocked);
    c.operations_applied = i(s.applied);
    c.outcomes = i(s.outcomes);
    c.negative_outcomes = i(s.negative_outcomes);
    c.value_score_sum = s.value_score_sum;
    c.reasoning_events = i(s.reasoning_events);
    for (const auto& [status, n] : s.events_by_status)
        c.events_by_status.emplace_back(status, i(n));
    for (const auto& t : s.recent_transitions)
        c.recent_transitions.push_back({t.from, t.to, t.canonical_status, rfc3339(t.at)});
    return c;
}

}  // namespace

Response handle_connex_outcome(const Context& c) {
    auto body = parse_object_body(c, c.connex.options().max_body_bytes, false);
    if (!body) return std::move(body.error());
    if (auto errors = connex::validate_outcome_request(*body); !errors.empty())
        return invalid_body(errors);
    auto w = std::make_shared<OutcomeWrite>();
    w->tenant_id = c.token->tenant_id;
    w->request = std::move(body->get_object());
    w->source_system = std::string(str_member(w->request, "sourceSystem"));
    w->source_outcome_id = std::string(str_member(w->request, "sourceOutcomeId"));
    w->request_hash = request_hash(json::value(w->request));
    w->now = c.now;
    ConnexState* state = &c.connex;  // outlives every request (owned by the Api)
    return deferred([w](storage::Database& db) { return record_outcome(db, *w); },
                    [w, state](const Result<void>& r) -> Response {
                        if (!r) return storage_failure(r.error(), "integration-outcome write");
                        if (w->conflict)
                            return problem(
                                409, "operation " +
                                         std::string(str_member(w->request, "operationId")) + ": " +
                                         *w->conflict);
                        if (w->earlier) {
                            if (w->earlier->request_hash != w->request_hash)
                                return problem(409, "sourceOutcomeId '" + w->source_outcome_id +
                                                        "' was already used with a different "
                                                        "request");
                            Response replayed = Response::json(200, w->earlier->response_json);
                            replayed.add_header("Idempotent-Replayed", "true");
                            return replayed;
                        }
                        state->weights().put(w->tenant_id, w->weights_version, w->weights);
                        return Response::json(200, w->body);
                    });
}

Response handle_connex_insights(const Context& c) {
    auto body = parse_object_body(c, c.connex.options().max_body_bytes, true);
    if (!body) return std::move(body.error());
    if (auto errors = connex::validate_insights_request(*body); !errors.empty())
        return invalid_body(errors);
    const json::object& req = body->get_object();
    std::size_t limit = 20;
    if (auto v = connex::json_integer(req.if_contains("limit")))
        limit = static_cast<std::size_t>(*v);
    storage::ConnexFilters filters;
    json::object echo = insights_filters(req, limit, filters);
    auto counts = storage::connex_counts(c.db, c.token->tenant_id, filters, limit);
    if (!counts) return storage_failure(counts.error(), "connex_counts");
    auto weights = c.connex.weights().get(c.token->tenant_id, c.db);
    if (!weights) return storage_failure(weights.error(), "connex weights");
    return json_response(
        200, connex::build_insights(c.token->tenant_id, echo, to_insights(*counts), **weights));
}

namespace {

Result<json::object> trust_of(const Context& c) {
    const std::string& tenant = c.token->tenant_id;
    auto verified = storage::tenant_has_verified_domain(c.db, tenant);
    if (!verified) return tl::unexpected(verified.error());
    auto events = storage::count_connex_events(c.db, tenant);
    if (!events) return tl::unexpected(events.error());
    auto weights = c.connex.weights().get(tenant, c.db);
    if (!weights) return tl::unexpected(weights.error());
    connex::TrustInputs in{*verified, static_cast<int>(std::min<std::int64_t>(*events, INT32_MAX))};
    return connex::build_trust(tenant, in, **weights);
}

}  // namespace

Response handle_connex_trust(const Context& c) {
    // The contract defines no request body; whatever is sent is ignored beyond the size bound.
    if (c.request.body.size() > c.connex.options().max_body_bytes)
        return problem(413, "the request body is too large");
    auto trust = trust_of(c);
    if (!trust) return storage_failure(trust.error(), "connex trust");
    return json_response(200, *trust);
}

Result<json::object> connex_trust_for(const Context& c) { return trust_of(c); }

Response handle_connex_intelligence(const Context& c) {
    if (auto errors = reject_params(c.target.query); !errors.empty()) return bad_request(errors);
    storage::ConnexFilters none;
    auto counts = storage::connex_counts(c.db, c.token->tenant_id, none, 20);
    if (!counts) return storage_failure(counts.error(), "connex_counts");
    auto weights = c.connex.weights().get(c.token->tenant_id, c.db);
    if (!weights) return storage_failure(weights.error(), "connex weights");
    auto trust = trust_of(c);
    if (!trust) return storage_failure(trust.error(), "connex trust");
    json::object o =
        connex::build_insights(c.token->tenant_id, json::object{}, to_insights(*counts), **weights);
    o["type"] = "connex.intelligence.result";
    o.erase("filters");
    o["dispatches"] = counts->dispatches;
    o["trust"] = json::object{{"score", trust->at("score")}, {"band", trust->at("band")}};
    return json_response(200, o);
}

}  // namespace postern::api
