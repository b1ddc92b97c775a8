#include "connex_plan.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <unordered_map>
#include <vector>

#include "common/ids.hpp"
#include "connex/evaluator.hpp"
#include "storage/connex_repo.hpp"
#include "storage/repos.hpp"

namespace postern::api {

namespace json = boost::json;

namespace {

std::string_view str(const json::object& o, std::string_view key) {
    auto* v = o.if_contains(key);
    return v && v->is_string() ? std::string_view(v->get_string()) : std::string_view{};
}

std::optional<std::string> opt_str(const json::object& o, std::string_view key) {
    auto* v = o.if_contains(key);
    if (v && v->is_string() && !v->get_string().empty()) return std::string(v->get_string());
    return std::nullopt;
}

const json::object& obj(const json::object& o, std::string_view key) {
    static const json::object kEmpty;
    auto* v = o.if_contains(key);
    return v && v->is_object() ? v->get_object() : kEmpty;
}

const json::array& arr(const json::object& o, std::string_view key) {
    static const json::array kEmpty;
    auto* v = o.if_contains(key);
    return v && v->is_array() ? v->get_array() : kEmpty;
}

// The evaluator's operation and dispatch ids are hashes, so they arrive in random order; the
// ledger and dispatch tables are keyed by them, and random keys dirty a random page per insert.
// Renaming them after the event id (a ULID) plus a two-digit index makes every key grow with
// time, so inserts append. Every occurrence is renamed: status.operations, operationBuckets,
// integration.applyOrder, materialization.dispatches/skipped.
void rename_ids(json::value& v, const std::unordered_map<std::string_view, std::string>& to) {
    if (auto* s = v.if_string()) {
        if (s->size() > 4 && (s->starts_with("op_") || s->starts_with("dsp_")))
            if (auto it = to.find(std::string_view(*s)); it != to.end()) *s = it->second;
    } else if (auto* a = v.if_array()) {
        for (auto& x : *a) rename_ids(x, to);
    } else if (auto* o = v.if_object()) {
        for (auto& kv : *o) rename_ids(kv.value(), to);
    }
}

std::string sortable_id(std::string_view prefix, std::string_view event_id, std::size_t i) {
    char n[3] = {char('0' + i / 10 % 10), char('0' + i % 10), 0};
    return std::string(prefix) + std::string(event_id.substr(4)) + n;  // after "cxe_"
}

void rename_all(json::object& out, std::string_view event_id) {
    // Old ids are views into `out`'s strings: collect the renames first, then rewrite.
    std::vector<std::string> old_ids;
    std::vector<std::string> new_ids;
    if (auto* st = out.if_contains("status"); st && st->is_object())
        if (auto* ops = st->get_object().if_contains("operations"); ops && ops->is_array())
            for (const auto& op : ops->get_array())
                if (auto* id = op.is_object() ? op.get_object().if_contains("id") : nullptr;
                    id && id->is_string()) {
                    old_ids.emplace_back(id->get_string());
                    new_ids.push_back(sortable_id("op_", event_id, new_ids.size()));
                }
    std::size_t n_dispatch = 0;
    if (auto* m = out.if_contains("materialization"); m && m->is_object())
        if (auto* ds = m->get_object().if_contains("dispatches"); ds && ds->is_array())
            for (const auto& d : ds->get_array())
                if (auto* id = d.is_object() ? d.get_object().if_contains("dispatchId") : nullptr;
                    id && id->is_string()) {
                    old_ids.emplace_back(id->get_string());
                    new_ids.push_back(sortable_id("dsp_", event_id, n_dispatch++));
                }
    std::unordered_map<std::string_view, std::string> to;
    for (std::size_t i = 0; i < old_ids.size(); ++i) to.emplace(old_ids[i], new_ids[i]);
    for (auto& kv : out) rename_ids(kv.value(), to);
}

}  // namespace

EventPlan plan_event(const json::object& request, const connex::TenantWeights& weights,
                     const std::string& tenant_id, std::string request_hash, std::int64_t now,
                     const std::optional<connex::ShadowReceipt>& shadow) {
    EventPlan plan;
    auto& row = plan.row;
    row.id = new_id("cxe");
    row.tenant_id = tenant_id;
    row.request_hash = std::move(request_hash);
    row.created_at = now;

    connex::EvalContext ctx;
    ctx.tenant_id = tenant_id;
    ctx.id_seed = row.id;
    ctx.shadow = shadow;
    // The response is built in an arena: one block instead of an allocation per JSON node.
    json::monotonic_resource arena(64 * 1024);
    json::storage_ptr sp(&arena);
    json::object out = connex::evaluate_event(request, weights, ctx, sp);
    out["integrationEventId"] = row.id;
    rename_all(out, row.id);

    const auto& status = obj(out, "status");
    const auto& canonical = obj(status, "canonical");
    const auto& mapped = obj(status, "mapped");
    const auto& envelope = obj(out, "networkEnvelope");
    row.source_system = std::string(str(envelope, "sourceSystem"));
    row.source_event_id = opt_str(request, "sourceEventId");
    row.app = std::string(str(request, "app"));
    row.event_type = opt_str(request, "eventType");
    row.object_type = opt_str(envelope, "objectType");
    row.object_id = opt_str(envelope, "objectId");
    row.canonical_status = std::string(str(canonical, "status"));
    row.current_status = opt_str(mapped, "currentStatus");
    row.mapped_status = opt_str(mapped, "status");
    if (auto* conf = canonical.if_contains("confidence"); conf && conf->is_number())
        row.confidence_pct = std::lround(conf->to_number<double>() * 100.0);
    const auto& materialization = obj(out, "materialization");
    row.apply_mode = std::string(str(materialization, "mode"));
    if (row.apply_mode.empty()) row.apply_mode = "recommend";
    plan.priority = std::string(str(canonical, "priority"));

    for (const auto& kv : obj(out, "operationBuckets")) {
        std::string_view bucket = kv.key();
        if (!kv.value().is_array()) continue;
        for (const auto& op : kv.value().get_array()) {
            if (!op.is_object()) continue;
            plan.operations.push_back({std::string(str(op.get_object(), "id")),
                                       std::string(str(op.get_object(), "type")),
                                       std::string(bucket)});
        }
    }
    for (const auto& d : arr(materialization, "dispatches")) {
        if (!d.is_object()) continue;
        const auto& o = d.get_object();
        storage::ConnexDispatchRow r;
        r.id = std::string(str(o, "dispatchId"));
        r.operation_id = opt_str(o, "operationId");
        r.type = std::string(str(o, "type"));
        r.label = std::string(str(o, "label"));
        r.status = std::string(str(o, "status"));
        r.payload_json = json::serialize(o);
        plan.dispatches.push_back(std::move(r));
    }
    plan.body = json::serialize(out);
    if (auto* st = out.if_contains("status"); st && st->is_object())
        if (auto* ops = st->get_object().if_contains("operations"); ops && ops->is_array())
            ops->get_array().clear();
    row.result_json = json::serialize(out);
    return plan;
}

void expand_result(json::object& stored) {
    auto* st = stored.if_contains("status");
    auto* ops = st && st->is_object() ? st->get_object().if_contains("operations") : nullptr;
    if (!ops || !ops->is_array() || !ops->get_array().empty()) return;
    json::array all;
    for (const auto& kv : obj(stored, "operationBuckets"))
        if (kv.value().is_array())
            for (const auto& op : kv.value().get_array()) all.push_back(op);
    std::stable_sort(all.begin(), all.end(), [](const json::value& a, const json::value& b) {
        auto id = [](const json::value& v) {
            return v.is_object() ? str(v.get_object(), "id") : std::string_view{};
        };
        return id(a) < id(b);
    });
    *ops = std::move(all);
}

Result<std::string> expand_result_text(std::string_view stored) {
    boost::system::error_code ec;
    json::value v = json::parse(stored, ec);
    if (ec || !v.is_object()) return fail(Errc::internal, "a stored Connex result is not JSON");
    expand_result(v.get_object());
    return json::serialize(v);
}

Result<bool> write_event(storage::Database& db, const EventPlan& plan, std::string_view actor) {
    auto inserted = storage::insert_connex_event(db, plan.row, plan.operations, plan.dispatches);
    if (!inserted || !*inserted) return inserted;
    for (const auto& d : plan.dispatches) {
        json::object data{
            {"dispatch_id", d.id},
            {"integration_event_id", plan.row.id},
            {"operation_id", d.operation_id ? json::value(*d.operation_id) : json::value(nullptr)},
            {"type", d.type},
            {"status", d.status},
            {"external", false}};
        const std::string detail = json::serialize(data);
        POSTERN_TRY(storage::append_audit(db, plan.row.tenant_id, actor, "connex.dispatch.create",
                                          d.id, detail));
        POSTERN_TRY(storage::append_event(db, plan.row.tenant_id, std::nullopt,
                                          "connex.dispatch.created", detail, plan.row.created_at));
    }
    return true;
}

}  // namespace postern::api
