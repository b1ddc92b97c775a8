// Outbound mail: the Sent copy, the per-recipient deliveries, and Idempotency-Key responses.
#include <boost/json.hpp>
#include <set>

#include "common/address.hpp"
#include "common/crypto.hpp"
#include "common/ids.hpp"
#include "mail_store.hpp"
#include "storage/events.hpp"
#include "storage/outbound.hpp"

namespace postern::storage {
namespace {

namespace json = boost::json;

}  // namespace

const char* const kDeliveryColumns =
    "id, tenant_id, mailbox_id, message_id, blob_sha256, envelope_from, recipient, domain, state, "
    "attempts, created_at, updated_at, next_attempt_at, lease_until, last_attempt_at, "
    "last_reply, last_host, delay_notified, dsn_message_id";

DeliveryRow read_delivery(const Statement& st) {
    DeliveryRow r;
    r.id = st.text(0);
    r.tenant_id = st.text(1);
    r.mailbox_id = st.text(2);
    r.message_id = st.text(3);
    r.blob_sha256 = st.text(4);
    r.envelope_from = st.text(5);
    r.recipient = st.text(6);
    r.domain = st.text(7);
    r.state = st.text(8);
    r.attempts = st.int64(9);
    r.created_at = st.int64(10);
    r.updated_at = st.int64(11);
    r.next_attempt_at = st.opt_int64(12);
    r.lease_until = st.opt_int64(13);
    r.last_attempt_at = st.opt_int64(14);
    r.last_reply = st.opt_text(15);
    r.last_host = st.opt_text(16);
    r.delay_notified = st.int64(17) != 0;
    r.dsn_message_id = st.opt_text(18);
    return r;
}

Result<Enqueued> enqueue_outbound(Database& db, const OutboundMessage& m) {
    // Parse and deduplicate recipients before touching the database.
    struct Rcpt {
        std::string address, domain;
    };
    std::vector<Rcpt> rcpts;
    std::set<std::string> seen;
    for (const auto& text : m.recipients) {
        auto a = parse_address(text);
        if (!a)
            return fail(Errc::invalid_argument, "recipient " + text + ": " + a.error().message());
        if (a->domain.empty())
            return fail(Errc::invalid_argument, "recipient " + text + " has no domain");
        if (!seen.insert(a->local + "@" + a->domain).second) continue;
        rcpts.push_back({text, a->domain});
    }
    if (rcpts.empty()) return fail(Errc::invalid_argument, "no recipients");

    const std::string sha = sha256_hex(m.raw);
    POSTERN_TRY(store_blob(db, sha, m.raw));
    std::string envelope_to;
    for (const auto& r : rcpts) {
        if (!envelope_to.empty()) envelope_to += ' ';
        envelope_to += r.address;
    }
    const std::vector<std::string> no_flags;
    const std::string no_auth;
    CopySpec spec{.tenant_id = m.tenant_id,
                  .mailbox_id = m.mailbox_id,
                  .folder = "sent",
                  .blob_sha256 = sha,
                  .size = static_cast<std::int64_t>(m.raw.size()),
                  .summary = m.summary,
                  .envelope_from = m.envelope_from,
                  .envelope_to = envelope_to,
                  .flags = no_flags,
                  .auth_json = no_auth,
                  .received_at = m.created_at};
    auto copy = store_copy(db, spec);
    if (!copy) return tl::unexpected(copy.error());

    Enqueued out;
    out.message_id = copy->message_id;
    out.thread_id = copy->thread_id;
    json::array delivery_ids;
    for (const auto& r : rcpts) {
        DeliveryRow d;
        d.id = new_id("dlv");
        d.tenant_id = m.tenant_id;
        d.mailbox_id = m.mailbox_id;
        d.message_id = copy->message_id;
        d.blob_sha256 = sha;
        d.envelope_from = m.envelope_from;
        d.recipient = r.address;
        d.domain = r.domain;
        d.state = "queued";
        d.created_at = d.updated_at = m.created_at;
        d.next_attempt_at = m.created_at;
        auto st = db.prepare(
            "INSERT INTO deliveries(id, tenant_id, mailbox_id, message_id, blob_sha256, "
            "envelope_from, recipient, domain, state, created_at, updated_at, next_attempt_at) "
            "VALUES (?,?,?,?,?,?,?,?,'queued',?,?,?)");
        if (!st) return tl::unexpected(st.error());
        POSTERN_TRY(st->bind(1, d.id)
                        .bind(2, d.tenant_id)
                        .bind(3, d.mailbox_id)
                        .bind(4, d.message_id)
                        .bind(5, d.blob_sha256)
                        .bind(6, d.envelope_from)
                        .bind(7, d.recipient)
                        .bind(8, d.domain)
                        .bind(9, d.created_at)
                        .bind(10, d.updated_at)
                        .bind(11, d.next_attempt_at)
                        .run());
        delivery_ids.emplace_back(d.id);
        out.deliveries.push_back(std::move(d));
    }
    json::object data{{"message_id", copy->message_id},
                      {"thread_id", copy->thread_id},
                      {"mailbox_id", m.mailbox_id},
                      {"subject", m.summary.subject},
                      {"source", m.source},
                      {"deliveries", std::move(delivery_ids)}};
    POSTERN_TRY(append_event(db, m.tenant_id, m.mailbox_id, "message.sent", json::serialize(data),
                             m.created_at));
    return out;
}

Result<std::vector<DeliveryRow>> list_deliveries(Database& db, const Scope& scope,
                                                 std::string_view message_id) {
    std::string sql = std::string("SELECT ") + kDeliveryColumns +
                      " FROM deliveries WHERE message_id = ? AND tenant_id = ?";
    if (scope.mailbox_id) sql += " AND mailbox_id = ?";
    sql += " ORDER BY id";
    auto st = db.prepare(sql);
    if (!st) return tl::unexpected(st.error());
    st->bind(1, message_id).bind(2, scope.tenant_id);
    if (scope.mailbox_id) st->bind(3, *scope.mailbox_id);
    std::vector<DeliveryRow> out;
    for (;;) {
        auto row = st->step();
        if (!row) return tl::unexpected(row.error());
        if (!*row) break;
        out.push_back(read_delivery(*st));
    }
    return out;
}

Result<std::optional<DeliveryRow>> get_delivery(Database& db, std::string_view delivery_id) {
    auto st =
        db.prepare(std::string("SELECT ") + kDeliveryColumns + " FROM deliveries WHERE id = ?");
    if (!st) return tl::unexpected(st.error());
    st->bind(1, delivery_id);
    auto row = st->step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return std::optional<DeliveryRow>();
    return std::optional<DeliveryRow>(read_delivery(*st));
}

Result<std::optional<IdempotentResponse>> find_idempotent(Database& db, std::string_view tenant_id,
                                                          std::string_view principal,
                                                          std::string_view key, std::int64_t now) {
    auto st = db.prepare(
        "SELECT request_sha256, status, response, created_at FROM idempotency_keys "
        "WHERE tenant_id = ? AND principal = ? AND key = ? AND created_at > ?");
    if (!st) return tl::unexpected(st.error());
    st->bind(1, tenant_id).bind(2, principal).bind(3, key).bind(4, now - kIdempotencyWindowMs);
    auto row = st->step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return std::optional<IdempotentResponse>();
    IdempotentResponse r;
    r.request_sha256 = st->text(0);
    r.status = static_cast<int>(st->int64(1));
    r.response = st->text(2);
    r.created_at = st->int64(3);
    return std::optional<IdempotentResponse>(std::move(r));
}

Result<void> save_idempotent(Database& db, std::string_view tenant_id, std::string_view principal,
                             std::string_view key, std::string_view route,
                             const IdempotentResponse& r) {
    auto st = db.prepare(
        "INSERT OR REPLACE INTO idempotency_keys(tenant_id, principal, key, route, "
        "request_sha256, status, response, created_at) VALUES (?,?,?,?,?,?,?,?)");
    if (!st) return tl::unexpected(st.error());
    return st->bind(1, tenant_id)
        .bind(2, principal)
        .bind(3, key)
        .bind(4, route)
        .bind(5, r.request_sha256)
        .bind(6, r.status)
        .bind(7, r.response)
        .bind(8, r.created_at)
        .run();
}

}  // namespace postern::storage
