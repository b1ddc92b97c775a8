// The outbound queue: leased claims, outcomes with events and DSNs, retry schedule, admin ops.
#include <algorithm>
#include <boost/json.hpp>
#include <map>

#include "common/crypto.hpp"
#include "common/mime.hpp"
#include "mail_store.hpp"
#include "storage/events.hpp"
#include "storage/queue.hpp"

namespace postern::storage {
namespace {

namespace json = boost::json;

Result<std::vector<DeliveryRow>> read_rows(Statement& st) {
    std::vector<DeliveryRow> out;
    for (;;) {
        auto row = st.step();
        if (!row) return tl::unexpected(row.error());
        if (!*row) break;
        out.push_back(read_delivery(st));
    }
    return out;
}

// Stores a DSN in the inbox of the mailbox that sent the message; returns its msg_ id.
Result<std::string> store_dsn(Database& db, const DeliveryRow& row, const std::string& raw,
                              std::int64_t now) {
    auto summary = mime::summarize(raw);
    if (!summary) return tl::unexpected(summary.error());
    const std::string sha = sha256_hex(raw);
    POSTERN_TRY(store_blob(db, sha, raw));
    const std::vector<std::string> no_flags;
    const std::string no_auth;
    CopySpec spec{.tenant_id = row.tenant_id,
                  .mailbox_id = row.mailbox_id,
                  .folder = "inbox",
                  .blob_sha256 = sha,
                  .size = static_cast<std::int64_t>(raw.size()),
                  .summary = *summary,
                  .envelope_from = "",
                  .envelope_to = row.envelope_from,
                  .flags = no_flags,
                  .auth_json = no_auth,
                  .received_at = now};
    auto copy = store_copy(db, spec);
    if (!copy) return tl::unexpected(copy.error());
    return copy->message_id;
}

}  // namespace

Result<std::vector<std::vector<DeliveryRow>>> claim_due(Database& db, std::int64_t now,
                                                        std::int64_t lease_ms,
                                                        const ClaimLimits& limits) {
    std::vector<std::vector<DeliveryRow>> groups;
    if (limits.groups == 0 || limits.per_group == 0 || limits.scan == 0) return groups;
    auto st = db.prepare(std::string("SELECT ") + kDeliveryColumns +
                         " FROM deliveries WHERE next_attempt_at IS NOT NULL AND "
                         "next_attempt_at <= ? AND state IN ('queued','deferred') AND "
                         "(lease_until IS NULL OR lease_until <= ?) "
                         "ORDER BY next_attempt_at, id LIMIT ?");
    if (!st) return tl::unexpected(st.error());
    st->bind(1, now).bind(2, now).bind(3, static_cast<std::int64_t>(limits.scan));
    auto rows = read_rows(*st);
    if (!rows) return tl::unexpected(rows.error());
    // The group each (message, domain) is filling; a full one makes way for the next.
    std::map<std::pair<std::string, std::string>, std::size_t> filling;
    for (auto& r : *rows) {
        auto key = std::make_pair(r.message_id, r.domain);
        auto it = filling.find(key);
        if (it == filling.end() || groups[it->second].size() >= limits.per_group) {
            if (groups.size() >= limits.groups) continue;  // not leased: left for a later claim
            it = filling.insert_or_assign(std::move(key), groups.size()).first;
            groups.emplace_back();
        }
        groups[it->second].push_back(std::move(r));
    }
    for (auto& g : groups)
        for (auto& r : g) {
            auto up = db.prepare("UPDATE deliveries SET lease_until = ? WHERE id = ?");
            if (!up) return tl::unexpected(up.error());
            POSTERN_TRY(up->bind(1, now + lease_ms).bind(2, r.id).run());
            r.lease_until = now + lease_ms;
        }
    return groups;
}

RetryDecision decide_retry(const DeliveryRow& row, AttemptKind kind, const OutboundConfig& config,
                           std::int64_t now) {
    RetryDecision d;
    if (kind == AttemptKind::delivered) {
        d.state = "delivered";
        return d;
    }
    if (kind == AttemptKind::bounced) {
        d.state = "bounced";
        return d;
    }
    const std::int64_t expires = row.created_at + std::int64_t{config.max_lifetime_seconds} * 1000;
    if (now >= expires) {
        d.state = "bounced";
        d.expired = true;
        return d;
    }
    // row.attempts counts the attempts before this one: the first failure waits schedule[0].
    const auto index = static_cast<std::size_t>(row.attempts);
    const std::int64_t delay_s = index < config.retry_schedule_seconds.size()
                                     ? config.retry_schedule_seconds[index]
                                     : config.retry_interval_seconds;
    d.state = "deferred";
    // The last try is made when the lifetime runs out, not a whole interval after it.
    d.next_attempt_at = std::min(now + delay_s * 1000, expires);
    d.delay_dsn = config.delay_dsn_after_seconds > 0 && !row.delay_notified &&
                  now - row.created_at >= std::int64_t{config.delay_dsn_after_seconds} * 1000;
    return d;
}

Result<void> record_outcomes(Database& db, const std::vector<OutcomeUpdate>& updates,
                             std::int64_t now, const std::optional<std::string>& bounce_dsn,
                             const std::optional<std::string>& delay_dsn) {
    std::optional<std::string> bounce_id, delay_id;
    for (const auto& u : updates) {
        auto cur = get_delivery(db, u.delivery_id);
        if (!cur) return tl::unexpected(cur.error());
        if (!*cur || ((*cur)->state != "queued" && (*cur)->state != "deferred"))
            continue;  // cancelled (or finished by another runner) meanwhile
        const DeliveryRow& row = **cur;
        std::optional<std::string> dsn_id;
        if (u.decision.state == "bounced" && bounce_dsn) {
            if (!bounce_id) {
                auto id = store_dsn(db, row, *bounce_dsn, now);
                if (!id) return tl::unexpected(id.error());
                bounce_id = *id;
            }
            dsn_id = bounce_id;
        } else if (u.decision.delay_dsn && delay_dsn) {
            if (!delay_id) {
                auto id = store_dsn(db, row, *delay_dsn, now);
                if (!id) return tl::unexpected(id.error());
                delay_id = *id;
            }
            dsn_id = delay_id;
        }
        auto st = db.prepare(
            "UPDATE deliveries SET state = ?, attempts = attempts + 1, updated_at = ?, "
            "next_attempt_at = ?, lease_until = NULL, last_attempt_at = ?, last_reply = ?, "
            "last_host = ?, delay_notified = delay_notified OR ?, "
            "dsn_message_id = COALESCE(?, dsn_message_id) WHERE id = ?");
        if (!st) return tl::unexpected(st.error());
        POSTERN_TRY(st->bind(1, u.decision.state)
                        .bind(2, now)
                        .bind(3, u.decision.next_attempt_at)
                        .bind(4, now)
                        .bind(5, u.reply)
                        .bind(6, u.host.empty() ? std::optional<std::string>()
                                                : std::optional<std::string>(u.host))
                        .bind(7, (u.decision.delay_dsn && delay_dsn) ? 1 : 0)
                        .bind(8, dsn_id)
                        .bind(9, row.id)
                        .run());
        json::object data{{"delivery_id", row.id},
                          {"message_id", row.message_id},
                          {"mailbox_id", row.mailbox_id},
                          {"recipient", row.recipient},
                          {"state", u.decision.state},
                          {"attempts", row.attempts + 1},
                          {"reply", u.reply}};
        if (!u.host.empty()) data["host"] = u.host;
        if (u.decision.next_attempt_at) data["next_attempt_at"] = *u.decision.next_attempt_at;
        if (u.decision.expired) data["expired"] = true;
        if (dsn_id) data["dsn_message_id"] = *dsn_id;
        POSTERN_TRY(append_event(db, row.tenant_id, row.mailbox_id, "message." + u.decision.state,
                                 json::serialize(data), now));
    }
    return {};
}

Result<std::vector<DeliveryRow>> list_queue(Database& db, std::string_view tenant_id,
                                            const QueueFilter& filter) {
    std::string sql =
        std::string("SELECT ") + kDeliveryColumns + " FROM deliveries WHERE tenant_id = ?";
    if (!filter.include_final) sql += " AND state IN ('queued','deferred')";
    sql += " ORDER BY next_attempt_at IS NULL, next_attempt_at, id LIMIT ?";
    auto st = db.prepare(sql);
    if (!st) return tl::unexpected(st.error());
    st->bind(1, tenant_id).bind(2, static_cast<std::int64_t>(filter.limit));
    return read_rows(*st);
}

Result<std::optional<DeliveryRow>> find_delivery(Database& db, std::string_view tenant_id,
                                                 std::string_view delivery_id) {
    auto st = db.prepare(std::string("SELECT ") + kDeliveryColumns +
                         " FROM deliveries WHERE id = ? AND tenant_id = ?");
    if (!st) return tl::unexpected(st.error());
    st->bind(1, delivery_id).bind(2, tenant_id);
    auto rows = read_rows(*st);
    if (!rows) return tl::unexpected(rows.error());
    if (rows->empty()) return std::optional<DeliveryRow>();
    return std::optional<DeliveryRow>(std::move(rows->front()));
}

namespace {
Result<DeliveryRow> pending_or_fail(Database& db, std::string_view tenant_id,
                                    std::string_view delivery_id) {
    auto row = find_delivery(db, tenant_id, delivery_id);
    if (!row) return tl::unexpected(row.error());
    if (!*row) return fail(Errc::not_found, "no delivery " + std::string(delivery_id));
    if ((*row)->state != "queued" && (*row)->state != "deferred")
        return fail(Errc::conflict,
                    "delivery " + std::string(delivery_id) + " is already " + (*row)->state);
    return std::move(**row);
}
}  // namespace

Result<void> retry_now(Database& db, std::string_view tenant_id, std::string_view delivery_id,
                       std::int64_t now) {
    auto row = pending_or_fail(db, tenant_id, delivery_id);
    if (!row) return tl::unexpected(row.error());
    auto st = db.prepare(
        "UPDATE deliveries SET next_attempt_at = ?, updated_at = ? WHERE id = ? AND tenant_id = ?");
    if (!st) return tl::unexpected(st.error());
    return st->bind(1, now).bind(2, now).bind(3, delivery_id).bind(4, tenant_id).run();
}

Result<void> cancel_delivery(Database& db, std::string_view tenant_id, std::string_view delivery_id,
                             std::int64_t now) {
    auto row = pending_or_fail(db, tenant_id, delivery_id);
    if (!row) return tl::unexpected(row.error());
    auto st = db.prepare(
        "UPDATE deliveries SET state = 'cancelled', next_attempt_at = NULL, updated_at = ? "
        "WHERE id = ? AND tenant_id = ?");
    if (!st) return tl::unexpected(st.error());
    POSTERN_TRY(st->bind(1, now).bind(2, delivery_id).bind(3, tenant_id).run());
    json::object data{{"delivery_id", row->id},
                      {"message_id", row->message_id},
                      {"recipient", row->recipient},
                      {"state", "cancelled"}};
    return append_event(db, tenant_id, row->mailbox_id, "message.cancelled", json::serialize(data),
                        now);
}

}  // namespace postern::storage
