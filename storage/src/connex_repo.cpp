// Connex events, the operation ledger, dispatch records, graph events, outcomes and weights.
// Mailbox settings, message evaluations and the outbox live in connex_mail_repo.cpp.
#include "storage/connex_repo.hpp"

namespace postern::storage {

namespace {

Result<void> insert_operation(Database& db, const ConnexEventRow& e, const ConnexOperationRow& op) {
    auto st = db.prepare(
        "INSERT INTO connex_operations(tenant_id, id, event_id, type, bucket, updated_at) "
        "VALUES (?,?,?,?,?,?)");
    if (!st) return tl::unexpected(st.error());
    return st->bind(1, e.tenant_id)
        .bind(2, op.id)
        .bind(3, e.id)
        .bind(4, op.type)
        .bind(5, op.bucket)
        .bind(6, e.created_at)
        .run();
}

Result<std::optional<StoredConnexEvent>> one_event(Statement& st) {
    auto row = st.step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return std::optional<StoredConnexEvent>();
    return std::optional<StoredConnexEvent>(StoredConnexEvent{
        st.text(0), st.text(1), st.text(2), st.text(3), st.opt_text(4), st.opt_text(5)});
}

Result<std::int64_t> scalar(Statement& st) {
    auto row = st.step();
    if (!row) return tl::unexpected(row.error());
    return *row ? st.int64(0) : 0;
}

}  // namespace

// ---- integration events and the operation ledger ----

Result<bool> insert_connex_event(Database& db, const ConnexEventRow& e,
                                 const std::vector<ConnexOperationRow>& operations,
                                 const std::vector<ConnexDispatchRow>& dispatches) {
    auto st = db.prepare(
        "INSERT INTO connex_events(id, tenant_id, source_system, source_event_id, request_hash, "
        "app, event_type, object_type, object_id, message_id, canonical_status, current_status, "
        "mapped_status, confidence_pct, apply_mode, result, created_at) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) "
        "ON CONFLICT (tenant_id, source_system, source_event_id) DO NOTHING");
    if (!st) return tl::unexpected(st.error());
    POSTERN_TRY(st->bind(1, e.id)
                    .bind(2, e.tenant_id)
                    .bind(3, e.source_system)
                    .bind(4, e.source_event_id)
                    .bind(5, e.request_hash)
                    .bind(6, e.app)
                    .bind(7, e.event_type)
                    .bind(8, e.object_type)
                    .bind(9, e.object_id)
                    .bind(10, e.message_id)
                    .bind(11, e.canonical_status)
                    .bind(12, e.current_status)
                    .bind(13, e.mapped_status)
                    .bind(14, e.confidence_pct)
                    .bind(15, e.apply_mode)
                    .bind(16, e.result_json)
                    .bind(17, e.created_at)
                    .run());
    if (db.changes() == 0) return false;
    for (const auto& op : operations) POSTERN_TRY(insert_operation(db, e, op));
    for (const auto& d : dispatches) {
        ConnexDispatchRow row = d;
        row.event_id = e.id;
        row.created_at = e.created_at;
        POSTERN_TRY(insert_connex_dispatch(db, e.tenant_id, row));
    }
    return true;
}

Result<std::optional<StoredConnexEvent>> find_connex_event_by_source(
    Database& db, std::string_view tenant_id, std::string_view source_system,
    std::string_view source_event_id) {
    auto st = db.prepare(
        "SELECT id, request_hash, result, app, object_type, object_id FROM connex_events "
        "WHERE tenant_id = ? AND source_system = ? AND source_event_id = ?");
    if (!st) return tl::unexpected(st.error());
    st->bind(1, tenant_id).bind(2, source_system).bind(3, source_event_id);
    return one_event(*st);
}

Result<std::optional<StoredConnexEvent>> find_connex_event(Database& db, std::string_view tenant_id,
                                                           std::string_view id_or_source_event_id,
                                                           std::string_view source_system) {
    auto st = db.prepare(
        "SELECT id, request_hash, result, app, object_type, object_id FROM connex_events "
        "WHERE tenant_id = ? AND id = ?");
    if (!st) return tl::unexpected(st.error());
    st->bind(1, tenant_id).bind(2, id_or_source_event_id);
    auto found = one_event(*st);
    if (!found || *found) return found;
    { auto done = std::move(*st); }  // reset before the next statement
    return find_connex_event_by_source(db, tenant_id, source_system, id_or_source_event_id);
}

Result<std::optional<StoredConnexEvent>> find_connex_event_of_operation(
    Database& db, std::string_view tenant_id, std::string_view operation_id) {
    auto st = db.prepare(
        "SELECT e.id, e.request_hash, e.result, e.app, e.object_type, e.object_id "
        "FROM connex_operations o JOIN connex_events e ON e.id = o.event_id "
        "WHERE o.tenant_id = ? AND o.id = ? AND e.tenant_id = o.tenant_id");
    if (!st) return tl::unexpected(st.error());
    st->bind(1, tenant_id).bind(2, operation_id);
    return one_event(*st);
}

Result<std::optional<ConnexOperationState>> find_connex_operation_state(
    Database& db, std::string_view tenant_id, std::string_view operation_id) {
    auto st =
        db.prepare("SELECT bucket, status FROM connex_operations WHERE tenant_id = ? AND id = ?");
    if (!st) return tl::unexpected(st.error());
    st->bind(1, tenant_id).bind(2, operation_id);
    auto row = st->step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return std::optional<ConnexOperationState>();
    return std::optional<ConnexOperationState>(ConnexOperationState{st->text(0), st->text(1)});
}

Result<bool> set_connex_operation_status(Database& db, std::string_view tenant_id,
                                         std::string_view operation_id, std::string_view status,
                                         std::int64_t now) {
    auto st = db.prepare(
        "UPDATE connex_operations SET status = ?, updated_at = ? WHERE tenant_id = ? AND id = ?");
    if (!st) return tl::unexpected(st.error());
    POSTERN_TRY(st->bind(1, status).bind(2, now).bind(3, tenant_id).bind(4, operation_id).run());
    return db.changes() > 0;
}

Result<std::int64_t> count_connex_events(Database& db, std::string_view tenant_id,
                                         std::int64_t since_ms) {
    auto st =
        db.prepare("SELECT count(*) FROM connex_events WHERE tenant_id = ? AND created_at >= ?");
    if (!st) return tl::unexpected(st.error());
    st->bind(1, tenant_id).bind(2, since_ms);
    return scalar(*st);
}

// ---- dispatch records and graph events ----

Result<void> insert_connex_dispatch(Database& db, std::string_view tenant_id,
                                    const ConnexDispatchRow& d) {
    auto st = db.prepare(
        "INSERT INTO connex_dispatch(tenant_id, id, event_id, operation_id, type, label, status, "
        "payload, created_at) VALUES (?,?,?,?,?,?,?,?,?)");
    if (!st) return tl::unexpected(st.error());
    return st->bind(1, tenant_id)
        .bind(2, d.id)
        .bind(3, d.event_id)
        .bind(4, d.operation_id)
        .bind(5, d.type)
        .bind(6, d.label)
        .bind(7, d.status)
        .bind(8, d.payload_json)
        .bind(9, d.created_at)
        .run();
}

Result<std::vector<ConnexDispatchRow>> list_connex_dispatch(Database& db,
                                                            std::string_view tenant_id,
                                                            std::size_t limit) {
    auto st = db.prepare(
        "SELECT id, event_id, operation_id, type, label, status, payload, created_at "
        "FROM connex_dispatch WHERE tenant_id = ? ORDER BY created_at DESC, id DESC LIMIT ?");
    if (!st) return tl::unexpected(st.error());
    st->bind(1, tenant_id).bind(2, static_cast<std::int64_t>(limit));
    std::vector<ConnexDispatchRow> out;
    for (;;) {
        auto row = st->step();
        if (!row) return tl::unexpected(row.error());
        if (!*row) break;
        out.push_back(ConnexDispatchRow{st->text(0), st->opt_text(1), st->opt_text(2), st->text(3),
                                        st->text(4), st->text(5), st->text(6), st->int64(7)});
    }
    return out;
}

Result<void> insert_connex_graph_event(Database& db, std::string_view tenant_id,
                                       std::string_view id, std::string_view kind,
                                       std::string_view data_json, std::int64_t now) {
    auto st = db.prepare(
        "INSERT INTO connex_graph_events(id, tenant_id, kind, data, created_at) "
        "VALUES (?,?,?,?,?)");
    if (!st) return tl::unexpected(st.error());
    return st->bind(1, id).bind(2, tenant_id).bind(3, kind).bind(4, data_json).bind(5, now).run();
}

// ---- outcomes and learned weights ----

Result<std::optional<StoredConnexOutcome>> find_connex_outcome(Database& db,
                                                               std::string_view tenant_id,
                                                               std::string_view source_system,
                                                               std::string_view source_outcome_id) {
    auto st = db.prepare(
        "SELECT id, request_hash, response FROM connex_outcomes "
        "WHERE tenant_id = ? AND source_system = ? AND source_outcome_id = ?");
    if (!st) return tl::unexpected(st.error());
    st->bind(1, tenant_id).bind(2, source_system).bind(3, source_outcome_id);
    auto row = st->step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return std::optional<StoredConnexOutcome>();
    return std::optional<StoredConnexOutcome>(
        StoredConnexOutcome{st->text(0), st->text(1), st->text(2)});
}

Result<void> insert_connex_outcome(Database& db, const ConnexOutcomeRow& o) {
    auto st = db.prepare(
        "INSERT INTO connex_outcomes(id, tenant_id, source_system, source_outcome_id, "
        "request_hash, event_id, operation_id, operation_matched, outcome_type, learning_signal, "
        "value_score, revenue_cents, app, object_type, object_id, request, response, created_at) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    if (!st) return tl::unexpected(st.error());
    return st->bind(1, o.id)
        .bind(2, o.tenant_id)
        .bind(3, o.source_system)
        .bind(4, o.source_outcome_id)
        .bind(5, o.request_hash)
        .bind(6, o.event_id)
        .bind(7, o.operation_id)
        .bind(8, o.operation_matched ? 1 : 0)
        .bind(9, o.outcome_type)
        .bind(10, o.learning_signal)
        .bind(11, o.value_score)
        .bind(12, o.revenue_cents)
        .bind(13, o.app)
        .bind(14, o.object_type)
        .bind(15, o.object_id)
        .bind(16, o.request_json)
        .bind(17, o.response_json)
        .bind(18, o.created_at)
        .run();
}

Result<ConnexWeightsRow> load_connex_weights(Database& db, std::string_view tenant_id) {
    auto st = db.prepare("SELECT version, weights FROM connex_weights WHERE tenant_id = ?");
    if (!st) return tl::unexpected(st.error());
    st->bind(1, tenant_id);
    auto row = st->step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return ConnexWeightsRow{};
    return ConnexWeightsRow{st->int64(0), st->text(1)};
}

Result<void> store_connex_weights(Database& db, std::string_view tenant_id, std::int64_t version,
                                  std::string_view json, std::int64_t now) {
    auto st = db.prepare(
        "INSERT INTO connex_weights(tenant_id, version, weights, updated_at) VALUES (?,?,?,?) "
        "ON CONFLICT (tenant_id) DO UPDATE SET version = excluded.version, "
        "weights = excluded.weights, updated_at = excluded.updated_at");
    if (!st) return tl::unexpected(st.error());
    return st->bind(1, tenant_id).bind(2, version).bind(3, json).bind(4, now).run();
}

// ---- aggregates ----

namespace {

// The filter clause over connex_events columns (alias e), binding ?2..?5; ?1 is the tenant.
constexpr const char* kEventFilter =
    "e.tenant_id = ?1 AND (?2 IS NULL OR e.source_system = ?2) AND (?3 IS NULL OR e.app = ?3) "
    "AND (?4 IS NULL OR e.object_type = ?4) AND (?5 IS NULL OR e.object_id = ?5)";
constexpr const char* kOutcomeFilter =
    "o.tenant_id = ?1 AND (?2 IS NULL OR o.source_system = ?2) AND (?3 IS NULL OR o.app = ?3) "
    "AND (?4 IS NULL OR o.object_type = ?4) AND (?5 IS NULL OR o.object_id = ?5)";

Result<Statement> filtered(Database& db, const std::string& sql, std::string_view tenant_id,
                           const ConnexFilters& f) {
    auto st = db.prepare(sql);
    if (!st) return tl::unexpected(st.error());
    st->bind(1, tenant_id)
        .bind(2, f.source_system)
        .bind(3, f.app)
        .bind(4, f.object_type)
        .bind(5, f.object_id);
    return std::move(*st);
}

}  // namespace

Result<ConnexCounts> connex_counts(Database& db, std::string_view tenant_id, const ConnexFilters& f,
                                   std::size_t transition_limit) {
    ConnexCounts c;
    {
        auto st = filtered(db,
                           std::string("SELECT canonical_status, count(*), "
                                       "sum(reasoning_provider <> 'deterministic') "
                                       "FROM connex_events e WHERE ") +
                               kEventFilter + " GROUP BY canonical_status ORDER BY 2 DESC, 1",
                           tenant_id, f);
        if (!st) return tl::unexpected(st.error());
        for (;;) {
            auto row = st->step();
            if (!row) return tl::unexpected(row.error());
            if (!*row) break;
            c.events_by_status.emplace_back(st->text(0), st->int64(1));
            c.events += st->int64(1);
            c.reasoning_events += st->int64(2);
        }
    }
    {
        auto st = filtered(db,
                           std::string("SELECT count(*), sum(o.bucket = 'humanReview'), "
                                       "sum(o.bucket = 'blocked'), "
                                       "sum(o.status IN ('applied', 'approved')) "
                                       "FROM connex_operations o JOIN connex_events e "
                                       "ON e.id = o.event_id WHERE o.tenant_id = ?1 AND ") +
                               kEventFilter,
                           tenant_id, f);
        if (!st) return tl::unexpected(st.error());
        auto row = st->step();
        if (!row) return tl::unexpected(row.error());
        if (*row) {
            c.operations = st->int64(0);
            c.human_review = st->opt_int64(1).value_or(0);
            c.blocked = st->opt_int64(2).value_or(0);
            c.applied = st->opt_int64(3).value_or(0);
        }
    }
    {
        auto st = filtered(db,
                           std::string("SELECT count(*), coalesce(sum(o.value_score), 0), "
                                       "sum(o.learning_signal IN ('negative_outcome_signal', "
                                       "'negative_classification_signal', "
                                       "'deliverability_risk_signal', 'human_override_signal', "
                                       "'integration_failure_signal')) "
                                       "FROM connex_outcomes o WHERE ") +
                               kOutcomeFilter,
                           tenant_id, f);
        if (!st) return tl::unexpected(st.error());
        auto row = st->step();
        if (!row) return tl::unexpected(row.error());
        if (*row) {
            c.outcomes = st->int64(0);
            c.value_score_sum = st->int64(1);
            c.negative_outcomes = st->opt_int64(2).value_or(0);
        }
    }
    {
        auto st = filtered(db,
                           std::string("SELECT coalesce(e.current_status, ''), e.mapped_status, "
                                       "e.canonical_status, e.created_at FROM connex_events e "
                                       "WHERE ") +
                               kEventFilter +
                               " AND e.mapped_status IS NOT NULL AND e.mapped_status <> "
                               "coalesce(e.current_status, '') ORDER BY e.created_at DESC, "
                               "e.id DESC LIMIT ?6",
                           tenant_id, f);
        if (!st) return tl::unexpected(st.error());
        st->bind(6, static_cast<std::int64_t>(transition_limit));
        for (;;) {
            auto row = st->step();
            if (!row) return tl::unexpected(row.error());
            if (!*row) break;
            c.recent_transitions.push_back(
                ConnexTransition{st->text(0), st->text(1), st->text(2), st->int64(3)});
        }
    }
    {
        auto st = db.prepare("SELECT count(*) FROM connex_dispatch WHERE tenant_id = ?");
        if (!st) return tl::unexpected(st.error());
        st->bind(1, tenant_id);
        auto n = scalar(*st);
        if (!n) return tl::unexpected(n.error());
        c.dispatches = *n;
    }
    return c;
}

Result<bool> tenant_has_verified_domain(Database& db, std::string_view tenant_id) {
    auto st = db.prepare(
        "SELECT EXISTS (SELECT 1 FROM domains WHERE tenant_id = ? AND ownership_verified_at IS "
        "NOT NULL AND spf_verified_at IS NOT NULL AND dkim_verified_at IS NOT NULL)");
    if (!st) return tl::unexpected(st.error());
    st->bind(1, tenant_id);
    auto n = scalar(*st);
    if (!n) return tl::unexpected(n.error());
    return *n != 0;
}

}  // namespace postern::storage
