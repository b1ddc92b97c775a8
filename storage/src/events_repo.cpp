// The events outbox and its consumer cursors (storage/events.hpp).
#include "common/ids.hpp"
#include "storage/events.hpp"

namespace postern::storage {

Result<void> append_event(Database& db, std::string_view tenant_id,
                          const std::optional<std::string>& mailbox_id, std::string_view type,
                          std::string_view data_json, std::int64_t now) {
    auto st = db.prepare(
        "INSERT INTO events(id, tenant_id, mailbox_id, type, created_at, data) "
        "VALUES (?,?,?,?,?,?)");
    if (!st) return tl::unexpected(st.error());
    return st->bind(1, new_id("evt"))
        .bind(2, tenant_id)
        .bind(3, mailbox_id)
        .bind(4, type)
        .bind(5, now)
        .bind(6, data_json)
        .run();
}

Result<std::vector<OutboxEvent>> events_after(Database& db, std::int64_t seq, std::size_t limit) {
    auto st = db.prepare(
        "SELECT seq, id, tenant_id, mailbox_id, type, data, created_at FROM events "
        "WHERE seq > ? ORDER BY seq LIMIT ?");
    if (!st) return tl::unexpected(st.error());
    st->bind(1, seq).bind(2, static_cast<std::int64_t>(limit));
    std::vector<OutboxEvent> out;
    for (;;) {
        auto row = st->step();
        if (!row) return tl::unexpected(row.error());
        if (!*row) break;
        out.push_back(OutboxEvent{st->int64(0), st->text(1), st->text(2), st->opt_text(3),
                                  st->text(4), st->text(5), st->int64(6)});
    }
    return out;
}

Result<std::int64_t> outbox_cursor(Database& db, std::string_view name) {
    auto st = db.prepare("SELECT seq FROM outbox_cursors WHERE name = ?");
    if (!st) return tl::unexpected(st.error());
    st->bind(1, name);
    auto row = st->step();
    if (!row) return tl::unexpected(row.error());
    return *row ? st->int64(0) : 0;
}

Result<void> advance_outbox_cursor(Database& db, std::string_view name, std::int64_t from,
                                   std::int64_t to, std::int64_t now) {
    auto st = db.prepare(
        "INSERT INTO outbox_cursors(name, seq, updated_at) VALUES (?1, ?3, ?4) "
        "ON CONFLICT (name) DO UPDATE SET seq = ?3, updated_at = ?4 WHERE seq = ?2");
    if (!st) return tl::unexpected(st.error());
    POSTERN_TRY(st->bind(1, name).bind(2, from).bind(3, to).bind(4, now).run());
    if (db.changes() == 0)
        return fail(Errc::conflict, "outbox cursor " + std::string(name) + " moved");
    return {};
}

}  // namespace postern::storage
