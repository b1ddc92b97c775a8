// Stored mail: raw blobs, message rows, threads and the message.received events.
#include <algorithm>
#include <boost/json.hpp>
#include <set>

#include "common/crypto.hpp"
#include "common/ids.hpp"
#include "common/time.hpp"
#include "mail_store.hpp"
#include "storage/events.hpp"
#include "storage/repos.hpp"

namespace postern::storage {
namespace {

namespace json = boost::json;

std::string mailboxes_json(const std::vector<mime::Mailbox>& list) {
    json::array a;
    a.reserve(list.size());
    for (const auto& m : list) a.push_back(json::object{{"name", m.name}, {"address", m.address}});
    return json::serialize(a);
}

std::string lower(std::string s) {
    for (char& c : s)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return s;
}

// Sorted distinct addresses of everyone on the message: a reply keeps the same set.
std::string participants_key(const mime::Summary& s) {
    std::set<std::string> all;
    for (const auto* list : {&s.from, &s.to, &s.cc})
        for (const auto& m : *list)
            if (!m.address.empty()) all.insert(lower(m.address));
    std::string key;
    for (const auto& a : all) {
        if (!key.empty()) key += ' ';
        key += a;
    }
    return key;
}

Result<std::optional<std::string>> thread_by_reference(Database& db, std::string_view mailbox_id,
                                                       const mime::Summary& s) {
    // The nearest ancestor first: In-Reply-To, then References from the end.
    std::vector<const std::string*> ids;
    if (!s.in_reply_to.empty()) ids.push_back(&s.in_reply_to);
    for (auto it = s.references.rbegin(); it != s.references.rend(); ++it) ids.push_back(&*it);
    for (const auto* id : ids) {
        auto st = db.prepare(
            "SELECT thread_id FROM messages WHERE mailbox_id = ? AND message_id_hdr = ? LIMIT 1");
        if (!st) return tl::unexpected(st.error());
        st->bind(1, mailbox_id).bind(2, *id);
        auto row = st->step();
        if (!row) return tl::unexpected(row.error());
        if (*row) return std::optional<std::string>(st->text(0));
    }
    return std::optional<std::string>();
}

Result<std::optional<std::string>> thread_by_subject(Database& db, std::string_view mailbox_id,
                                                     std::string_view subject_key,
                                                     std::string_view participants) {
    if (subject_key.empty()) return std::optional<std::string>();
    auto st = db.prepare(
        "SELECT id FROM threads WHERE mailbox_id = ? AND subject_key = ? AND participants_key = ? "
        "ORDER BY last_message_id DESC LIMIT 1");
    if (!st) return tl::unexpected(st.error());
    st->bind(1, mailbox_id).bind(2, subject_key).bind(3, participants);
    auto row = st->step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return std::optional<std::string>();
    return std::optional<std::string>(st->text(0));
}

std::string join(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) {
        if (!out.empty()) out += ' ';
        out += s;
    }
    return out;
}

std::optional<std::string> opt(const std::string& s) {
    if (s.empty()) return std::nullopt;
    return s;
}

}  // namespace

Result<void> store_blob(Database& db, std::string_view sha, std::string_view raw) {
    auto st = db.prepare("INSERT OR IGNORE INTO blobs(sha256, size, data) VALUES (?,?,?)");
    if (!st) return tl::unexpected(st.error());
    return st->bind(1, sha).bind(2, static_cast<std::int64_t>(raw.size())).bind_blob(3, raw).run();
}

Result<StoredCopy> store_copy(Database& db, const CopySpec& c) {
    const mime::Summary& s = c.summary;
    const std::string subject_key = mime::normalize_subject(s.subject);
    const std::string participants = participants_key(s);
    StoredCopy out;
    out.message_id = new_id("msg");
    auto thread = thread_by_reference(db, c.mailbox_id, s);
    if (!thread) return tl::unexpected(thread.error());
    if (!*thread) {
        thread = thread_by_subject(db, c.mailbox_id, subject_key, participants);
        if (!thread) return tl::unexpected(thread.error());
    }
    if (*thread) {
        out.thread_id = **thread;
        auto st = db.prepare(
            "UPDATE threads SET message_count = message_count + 1, last_message_id = ?, "
            "updated_at = ? WHERE id = ?");
        if (!st) return tl::unexpected(st.error());
        POSTERN_TRY(
            st->bind(1, out.message_id).bind(2, c.received_at).bind(3, out.thread_id).run());
    } else {
        out.thread_id = new_id("thr");
        auto st = db.prepare(
            "INSERT INTO threads(id, tenant_id, mailbox_id, subject, subject_key, "
            "participants_key, message_count, last_message_id, created_at, updated_at) "
            "VALUES (?,?,?,?,?,?,1,?,?,?)");
        if (!st) return tl::unexpected(st.error());
        POSTERN_TRY(st->bind(1, out.thread_id)
                        .bind(2, c.tenant_id)
                        .bind(3, c.mailbox_id)
                        .bind(4, s.subject)
                        .bind(5, subject_key)
                        .bind(6, participants)
                        .bind(7, out.message_id)
                        .bind(8, c.received_at)
                        .bind(9, c.received_at)
                        .run());
    }
    json::array flags;
    for (const auto& f : c.flags) flags.emplace_back(f);
    auto st = db.prepare(
        "INSERT INTO messages(id, tenant_id, mailbox_id, thread_id, blob_sha256, folder, "
        "message_id_hdr, in_reply_to, references_hdr, from_json, to_json, cc_json, "
        "subject, date, received_at, size, snippet, has_attachments, envelope_from, "
        "envelope_to, flags, auth_json) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    if (!st) return tl::unexpected(st.error());
    POSTERN_TRY(st->bind(1, out.message_id)
                    .bind(2, c.tenant_id)
                    .bind(3, c.mailbox_id)
                    .bind(4, out.thread_id)
                    .bind(5, c.blob_sha256)
                    .bind(6, c.folder)
                    .bind(7, opt(s.message_id))
                    .bind(8, opt(s.in_reply_to))
                    .bind(9, opt(join(s.references)))
                    .bind(10, mailboxes_json(s.from))
                    .bind(11, mailboxes_json(s.to))
                    .bind(12, mailboxes_json(s.cc))
                    .bind(13, s.subject)
                    .bind(14, s.date_ms)
                    .bind(15, c.received_at)
                    .bind(16, c.size)
                    .bind(17, s.snippet)
                    .bind(18, s.has_attachments ? 1 : 0)
                    .bind(19, c.envelope_from)
                    .bind(20, c.envelope_to)
                    .bind(21, json::serialize(flags))
                    .bind(22, opt(c.auth_json))
                    .run());
    return out;
}

Result<std::vector<std::string>> store_inbound(Database& db, const InboundMessage& m) {
    const std::string sha = sha256_hex(m.raw);
    POSTERN_TRY(store_blob(db, sha, m.raw));
    const mime::Summary& s = m.summary;
    std::vector<std::string> ids;
    ids.reserve(m.recipients.size());
    for (const auto& rcpt : m.recipients) {
        CopySpec spec{.tenant_id = rcpt.tenant_id,
                      .mailbox_id = rcpt.mailbox_id,
                      .folder = "inbox",
                      .blob_sha256 = sha,
                      .size = static_cast<std::int64_t>(m.raw.size()),
                      .summary = s,
                      .envelope_from = m.envelope_from,
                      .envelope_to = rcpt.address,
                      .flags = m.flags,
                      .auth_json = m.auth_json,
                      .received_at = m.received_at};
        auto copy = store_copy(db, spec);
        if (!copy) return tl::unexpected(copy.error());
        json::object data{{"message_id", copy->message_id},
                          {"thread_id", copy->thread_id},
                          {"mailbox_id", rcpt.mailbox_id},
                          {"subject", s.subject},
                          {"from", s.from.empty() ? std::string() : s.from.front().address}};
        POSTERN_TRY(append_event(db, rcpt.tenant_id, rcpt.mailbox_id, "message.received",
                                 json::serialize(data), m.received_at));
        ids.push_back(std::move(copy->message_id));
    }
    return ids;
}

// ---- reading ----

namespace {

constexpr const char* kMessageCols =
    "id, tenant_id, mailbox_id, thread_id, blob_sha256, folder, message_id_hdr, in_reply_to, "
    "references_hdr, from_json, to_json, cc_json, subject, date, received_at, size, snippet, "
    "has_attachments, flags, envelope_from, envelope_to, auth_json";

MessageRow read_message(const Statement& st) {
    MessageRow r;
    r.id = st.text(0);
    r.tenant_id = st.text(1);
    r.mailbox_id = st.text(2);
    r.thread_id = st.text(3);
    r.blob_sha256 = st.text(4);
    r.folder = st.text(5);
    r.message_id_hdr = st.opt_text(6);
    r.in_reply_to = st.opt_text(7);
    r.references_hdr = st.opt_text(8);
    r.from_json = st.text(9);
    r.to_json = st.text(10);
    r.cc_json = st.text(11);
    r.subject = st.text(12);
    r.date = st.opt_int64(13);
    r.received_at = st.int64(14);
    r.size = st.int64(15);
    r.snippet = st.text(16);
    r.has_attachments = st.int64(17) != 0;
    r.flags_json = st.text(18);
    r.envelope_from = st.text(19);
    r.envelope_to = st.text(20);
    r.auth_json = st.opt_text(21).value_or("");
    return r;
}

constexpr const char* kThreadCols =
    "id, tenant_id, mailbox_id, subject, message_count, last_message_id, created_at, updated_at, "
    "participants_key";

ThreadRow read_thread(const Statement& st) {
    ThreadRow t;
    t.id = st.text(0);
    t.tenant_id = st.text(1);
    t.mailbox_id = st.text(2);
    t.subject = st.text(3);
    t.message_count = st.int64(4);
    t.last_message_id = st.text(5);
    t.created_at = st.int64(6);
    t.updated_at = st.int64(7);
    json::array parts;
    const std::string k = st.text(8);
    std::size_t i = 0;
    while (i < k.size()) {
        auto j = k.find(' ', i);
        if (j == std::string::npos) j = k.size();
        if (j > i) parts.emplace_back(k.substr(i, j - i));
        i = j + 1;
    }
    t.participants_json = json::serialize(parts);
    return t;
}

// The list a message cursor belongs to: the mailbox, and the thread when the list is filtered.
std::string message_list(std::string_view mailbox_id, const std::optional<std::string>& thread) {
    return thread ? std::string(mailbox_id) + "/" + *thread : std::string(mailbox_id);
}

}  // namespace

std::string make_cursor(char kind, std::string_view list, std::string_view id) {
    return base64url_encode(std::string(1, kind) + ":" + std::string(list) + ":" + std::string(id));
}

Result<std::optional<std::string>> read_cursor(char kind, std::string_view list,
                                               const std::optional<std::string>& cursor,
                                               std::string_view id_prefix) {
    if (!cursor) return std::optional<std::string>();
    std::string raw;
    const std::string head = std::string(1, kind) + ":" + std::string(list) + ":";
    if (cursor->size() > 400 || !base64url_decode(*cursor, raw) || !raw.starts_with(head) ||
        !is_id(std::string_view(raw).substr(head.size()), id_prefix))
        return fail(Errc::invalid_argument, "cursor is not valid");
    return std::optional<std::string>(raw.substr(head.size()));
}

Result<PageOf<MessageRow>> list_messages(Database& db, const Scope& scope,
                                         std::string_view mailbox_id,
                                         const std::optional<std::string>& thread_id,
                                         const Page& page) {
    const std::string list = message_list(mailbox_id, thread_id);
    auto after = read_cursor('m', list, page.cursor, "msg");
    if (!after) return tl::unexpected(after.error());
    // The thread and the cursor are written into the SQL only when given: "?5 IS NULL OR
    // id < ?5" is no range SQLite can seek to, so every page after the first read the list
    // from its newest message down to the cursor. A thread's list goes through its own index.
    std::string sql =
        std::string("SELECT ") + kMessageCols + " FROM messages" +
        (thread_id ? " INDEXED BY messages_by_thread" : "") +
        " WHERE tenant_id = ?1 AND mailbox_id = ?2 AND (?3 IS NULL OR mailbox_id = ?3)";
    if (thread_id) sql += " AND thread_id = ?4";
    if (*after) sql += " AND id < ?5";
    sql += " ORDER BY id DESC LIMIT ?6";  // ?6 is the highest: every index up to it binds
    auto st = db.prepare(sql);
    if (!st) return tl::unexpected(st.error());
    std::size_t limit = std::clamp<std::size_t>(page.limit, 1, 500);
    st->bind(1, scope.tenant_id)
        .bind(2, mailbox_id)
        .bind(3, scope.mailbox_id)
        .bind(4, thread_id)
        .bind(5, *after)
        .bind(6, static_cast<std::int64_t>(limit + 1));
    PageOf<MessageRow> out;
    for (;;) {
        auto row = st->step();
        if (!row) return tl::unexpected(row.error());
        if (!*row) break;
        out.items.push_back(read_message(*st));
    }
    if (out.items.size() > limit) {
        out.items.pop_back();
        out.next_cursor = make_cursor('m', list, out.items.back().id);
    }
    return out;
}

Result<std::optional<MessageRow>> get_message(Database& db, const Scope& scope,
                                              std::string_view message_id) {
    auto st = db.prepare(std::string("SELECT ") + kMessageCols +
                         " FROM messages WHERE id = ?1 AND tenant_id = ?2"
                         " AND (?3 IS NULL OR mailbox_id = ?3)");
    if (!st) return tl::unexpected(st.error());
    st->bind(1, message_id).bind(2, scope.tenant_id).bind(3, scope.mailbox_id);
    auto row = st->step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return std::optional<MessageRow>();
    return std::optional<MessageRow>(read_message(*st));
}

Result<std::string> load_blob(Database& db, std::string_view sha256) {
    auto st = db.prepare("SELECT data FROM blobs WHERE sha256 = ?");
    if (!st) return tl::unexpected(st.error());
    st->bind(1, sha256);
    auto row = st->step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return fail(Errc::not_found, "blob missing");
    return std::string(st->blob(0));
}

Result<PageOf<ThreadRow>> list_threads(Database& db, const Scope& scope,
                                       std::string_view mailbox_id, const Page& page) {
    auto after = read_cursor('t', mailbox_id, page.cursor, "msg");
    if (!after) return tl::unexpected(after.error());
    // The cursor is written into the SQL only when given, as in list_messages().
    auto st = db.prepare(std::string("SELECT ") + kThreadCols +
                         " FROM threads WHERE tenant_id = ?1 AND mailbox_id = ?2"
                         " AND (?3 IS NULL OR mailbox_id = ?3)" +
                         (*after ? " AND last_message_id < ?4" : "") +
                         " ORDER BY last_message_id DESC LIMIT ?5");
    if (!st) return tl::unexpected(st.error());
    std::size_t limit = std::clamp<std::size_t>(page.limit, 1, 500);
    st->bind(1, scope.tenant_id)
        .bind(2, mailbox_id)
        .bind(3, scope.mailbox_id)
        .bind(4, *after)
        .bind(5, static_cast<std::int64_t>(limit + 1));
    PageOf<ThreadRow> out;
    for (;;) {
        auto row = st->step();
        if (!row) return tl::unexpected(row.error());
        if (!*row) break;
        out.items.push_back(read_thread(*st));
    }
    if (out.items.size() > limit) {
        out.items.pop_back();
        out.next_cursor = make_cursor('t', mailbox_id, out.items.back().last_message_id);
    }
    return out;
}

Result<std::optional<ThreadRow>> get_thread(Database& db, const Scope& scope,
                                            std::string_view thread_id) {
    auto st = db.prepare(std::string("SELECT ") + kThreadCols +
                         " FROM threads WHERE id = ?1 AND tenant_id = ?2"
                         " AND (?3 IS NULL OR mailbox_id = ?3)");
    if (!st) return tl::unexpected(st.error());
    st->bind(1, thread_id).bind(2, scope.tenant_id).bind(3, scope.mailbox_id);
    auto row = st->step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return std::optional<ThreadRow>();
    return std::optional<ThreadRow>(read_thread(*st));
}

}  // namespace postern::storage
