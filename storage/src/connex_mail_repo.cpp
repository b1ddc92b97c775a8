// The mail side of Connex: per-mailbox settings and stored message evaluations.
#include <boost/json.hpp>

#include "common/ids.hpp"
#include "storage/connex_repo.hpp"
#include "storage/events.hpp"
#include "storage/repos.hpp"

namespace postern::storage {

namespace json = boost::json;

Result<bool> mailbox_auto_evaluate(Database& db, std::string_view mailbox_id) {
    auto st = db.prepare("SELECT connex_auto_evaluate FROM mailbox_settings WHERE mailbox_id = ?");
    if (!st) return tl::unexpected(st.error());
    st->bind(1, mailbox_id);
    auto row = st->step();
    if (!row) return tl::unexpected(row.error());
    return *row && st->int64(0) != 0;
}

Result<void> set_mailbox_auto_evaluate(Database& db, std::string_view tenant_id,
                                       std::string_view mailbox_id, bool on, std::int64_t now) {
    // The mailbox must be the tenant's: the INSERT … SELECT writes nothing otherwise.
    auto st = db.prepare(
        "INSERT INTO mailbox_settings(mailbox_id, tenant_id, connex_auto_evaluate, updated_at) "
        "SELECT id, tenant_id, ?3, ?4 FROM mailboxes WHERE id = ?1 AND tenant_id = ?2 "
        "ON CONFLICT (mailbox_id) DO UPDATE SET connex_auto_evaluate = excluded."
        "connex_auto_evaluate, updated_at = excluded.updated_at");
    if (!st) return tl::unexpected(st.error());
    POSTERN_TRY(st->bind(1, mailbox_id).bind(2, tenant_id).bind(3, on ? 1 : 0).bind(4, now).run());
    if (db.changes() == 0) return fail(Errc::not_found, "no mailbox " + std::string(mailbox_id));
    return {};
}

Result<bool> update_mailbox_auto_evaluate(Database& db, std::string_view tenant_id,
                                          std::string_view mailbox_id, bool on,
                                          std::string_view actor, std::int64_t now) {
    // The mailbox must be the tenant's, changed or not.
    auto mailbox = find_mailbox(db, tenant_id, mailbox_id);
    if (!mailbox) return tl::unexpected(mailbox.error());
    if (!*mailbox) return fail(Errc::not_found, "no mailbox " + std::string(mailbox_id));
    auto current = mailbox_auto_evaluate(db, mailbox_id);
    if (!current) return tl::unexpected(current.error());
    if (*current == on) return false;
    POSTERN_TRY(set_mailbox_auto_evaluate(db, tenant_id, mailbox_id, on, now));
    json::object detail{{"connex_auto_evaluate", on}};
    POSTERN_TRY(
        append_audit(db, tenant_id, actor, "mailbox.update", mailbox_id, json::serialize(detail)));
    detail["mailbox_id"] = mailbox_id;
    POSTERN_TRY(append_event(db, tenant_id, std::string(mailbox_id), "mailbox.updated",
                             json::serialize(detail), now));
    return true;
}

Result<std::vector<std::string>> auto_evaluate_mailboxes(Database& db, std::string_view tenant_id) {
    auto st = db.prepare(
        "SELECT mailbox_id FROM mailbox_settings WHERE tenant_id = ? AND connex_auto_evaluate = 1 "
        "ORDER BY mailbox_id");
    if (!st) return tl::unexpected(st.error());
    st->bind(1, tenant_id);
    std::vector<std::string> out;
    for (;;) {
        auto row = st->step();
        if (!row) return tl::unexpected(row.error());
        if (!*row) break;
        out.push_back(st->text(0));
    }
    return out;
}

Result<bool> insert_message_evaluation(Database& db, std::string_view tenant_id,
                                       std::string_view mailbox_id, const MessageEvaluation& e) {
    auto st = db.prepare(
        "INSERT INTO message_evaluations(message_id, tenant_id, mailbox_id, event_id, status, "
        "result, created_at) VALUES (?,?,?,?,?,?,?) ON CONFLICT (message_id) DO NOTHING");
    if (!st) return tl::unexpected(st.error());
    POSTERN_TRY(st->bind(1, e.message_id)
                    .bind(2, tenant_id)
                    .bind(3, mailbox_id)
                    .bind(4, e.event_id)
                    .bind(5, e.status)
                    .bind(6, e.result_json)
                    .bind(7, e.created_at)
                    .run());
    return db.changes() > 0;
}

Result<std::optional<MessageEvaluation>> get_message_evaluation(Database& db,
                                                                std::string_view tenant_id,
                                                                std::string_view message_id) {
    auto st = db.prepare(
        "SELECT message_id, event_id, status, result, created_at FROM message_evaluations "
        "WHERE message_id = ? AND tenant_id = ?");
    if (!st) return tl::unexpected(st.error());
    st->bind(1, message_id).bind(2, tenant_id);
    auto row = st->step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return std::optional<MessageEvaluation>();
    return std::optional<MessageEvaluation>(
        MessageEvaluation{st->text(0), st->text(1), st->text(2), st->text(3), st->int64(4)});
}

}  // namespace postern::storage
