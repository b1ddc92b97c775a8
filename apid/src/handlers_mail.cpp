// Routes that read stored mail: message and thread lists, a message, its raw bytes and its
// attachments, a thread. Every repository call gets the token's storage::Scope, and an object
// outside it is a 404 exactly like one that does not exist.
#include <algorithm>
#include <charconv>

#include "apid/problem.hpp"
#include "apid/serialize.hpp"
#include "common/ids.hpp"
#include "common/log.hpp"
#include "common/mime.hpp"
#include "handlers.hpp"
#include "settings.hpp"

namespace postern::api {

namespace json = boost::json;

namespace {

// Threads show at most this many of their messages (the newest ones, oldest first).
constexpr std::size_t kThreadMessageCap = 500;

json::array message_items(const std::vector<storage::MessageRow>& rows) {
    json::array data;
    data.reserve(rows.size());
    for (const auto& r : rows) data.push_back(message_item_json(r));
    return data;
}

// Stored mail is attacker-controlled: tell browsers not to sniff or run it.
void mark_untrusted(Response& r) { r.add_header("Content-Security-Policy", "sandbox"); }

}  // namespace

// The `{mailbox}` path parameter: an mbx_ id or an address, within the token's reach.
tl::expected<storage::Mailbox, Response> resolve_mailbox(const Context& c) {
    const std::string& key = c.params.get("mailbox");
    auto found = storage::find_mailbox(c.db, c.token->tenant_id, key);
    if (!found) return tl::unexpected(storage_failure(found.error(), "find_mailbox"));
    if (!*found || (c.token->mailbox_id && (*found)->id != *c.token->mailbox_id))
        return tl::unexpected(not_found("no such mailbox"));
    return std::move(**found);
}

static Response list_failure(const Error& e, std::string_view what) {
    if (e.code() == Errc::invalid_argument)
        return bad_request({{"cursor", "is not a valid cursor"}});
    return storage_failure(e, what);
}

// The message named by `{id}`, within the token's reach.
tl::expected<storage::MessageRow, Response> find_message(const Context& c) {
    const std::string& id = c.params.get("id");
    if (!is_id(id, "msg")) return tl::unexpected(not_found("no such message"));
    auto row = storage::get_message(c.db, c.scope(), id);
    if (!row) return tl::unexpected(storage_failure(row.error(), "get_message"));
    if (!*row) return tl::unexpected(not_found("no such message"));
    return std::move(**row);
}

tl::expected<std::string, Response> raw_of(const Context& c, const storage::MessageRow& row) {
    auto raw = storage::load_blob(c.db, row.blob_sha256);
    if (!raw) return tl::unexpected(storage_failure(raw.error(), "load_blob " + row.id));
    return std::move(*raw);
}

Response handle_list_messages(const Context& c) {
    auto params = parse_list_params(c.target.query, {"thread_id"});
    if (!params) return bad_request(params.error());
    auto mailbox = resolve_mailbox(c);
    if (!mailbox) return std::move(mailbox.error());
    auto page = storage::list_messages(c.db, c.scope(), mailbox->id, params->thread_id,
                                       storage::Page{params->limit, params->cursor});
    if (!page) return list_failure(page.error(), "list_messages");
    return json_response(200, list_json(message_items(page->items), page->next_cursor));
}

Response handle_list_threads(const Context& c) {
    auto params = parse_list_params(c.target.query);
    if (!params) return bad_request(params.error());
    auto mailbox = resolve_mailbox(c);
    if (!mailbox) return std::move(mailbox.error());
    auto page = storage::list_threads(c.db, c.scope(), mailbox->id,
                                      storage::Page{params->limit, params->cursor});
    if (!page) return list_failure(page.error(), "list_threads");
    json::array data;
    for (const auto& t : page->items) data.push_back(thread_json(t));
    return json_response(200, list_json(std::move(data), page->next_cursor));
}

Response handle_get_message(const Context& c) {
    if (auto errors = reject_params(c.target.query); !errors.empty()) return bad_request(errors);
    auto row = find_message(c);
    if (!row) return std::move(row.error());
    auto raw = raw_of(c, *row);
    if (!raw) return std::move(raw.error());
    auto parsed = mime::parse(*raw);
    if (!parsed) return storage_failure(parsed.error(), "mime::parse " + row->id);
    auto connex = message_connex_json(c.db, c.token->tenant_id, row->id);
    if (!connex) return storage_failure(connex.error(), "message evaluation " + row->id);
    json::object o = message_detail_json(*row, *parsed);
    o["connex"] = std::move(*connex);
    return json_response(200, o);
}

Response handle_get_message_raw(const Context& c) {
    if (auto errors = reject_params(c.target.query); !errors.empty()) return bad_request(errors);
    auto row = find_message(c);
    if (!row) return std::move(row.error());
    auto raw = raw_of(c, *row);
    if (!raw) return std::move(raw.error());
    Response r;
    r.content_type = "message/rfc822";
    r.body = std::move(*raw);
    mark_untrusted(r);
    return r;
}

Response handle_get_attachment(const Context& c) {
    if (auto errors = reject_params(c.target.query); !errors.empty()) return bad_request(errors);
    const std::string& n_text = c.params.get("n");
    std::size_t n = 0;
    auto [ptr, ec] = std::from_chars(n_text.data(), n_text.data() + n_text.size(), n);
    bool digits =
        std::all_of(n_text.begin(), n_text.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
    if (!digits || ec != std::errc() || ptr != n_text.data() + n_text.size())
        return bad_request({{"n", "must be an attachment index (0, 1, …)"}});
    auto row = find_message(c);
    if (!row) return std::move(row.error());
    auto raw = raw_of(c, *row);
    if (!raw) return std::move(raw.error());
    auto att = mime::attachment(*raw, n);
    if (!att) {
        if (att.error().code() == Errc::not_found) return not_found("no such attachment");
        return storage_failure(att.error(), "mime::attachment " + row->id);
    }
    Response r;
    r.content_type = safe_media_type(att->meta.content_type, att->meta.charset);
    r.body = std::move(att->data);
    r.add_header("Content-Disposition", content_disposition(att->meta.filename));
    mark_untrusted(r);
    return r;
}

Response handle_get_thread(const Context& c) {
    if (auto errors = reject_params(c.target.query); !errors.empty()) return bad_request(errors);
    const std::string& id = c.params.get("id");
    if (!is_id(id, "thr")) return not_found("no such thread");
    auto thread = storage::get_thread(c.db, c.scope(), id);
    if (!thread) return storage_failure(thread.error(), "get_thread");
    if (!*thread) return not_found("no such thread");
    auto page = storage::list_messages(c.db, c.scope(), (*thread)->mailbox_id, (*thread)->id,
                                       storage::Page{kThreadMessageCap, std::nullopt});
    if (!page) return storage_failure(page.error(), "list_messages for thread");
    std::reverse(page->items.begin(), page->items.end());  // newest first -> oldest first
    json::object o = thread_json(**thread);
    o["messages"] = message_items(page->items);
    return json_response(200, o);
}

}  // namespace postern::api
