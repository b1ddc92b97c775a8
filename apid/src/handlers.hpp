#pragma once
// Private to postern_api: one function per route, called by Api::handle after routing,
// authentication and the scope check. A handler trusts that the token is valid and holds the
// scope; it still takes the tenant and mailbox from the token for every repository call.
#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "apid/api.hpp"
#include "apid/connex_state.hpp"
#include "apid/http.hpp"
#include "apid/problem.hpp"
#include "apid/router.hpp"
#include "apid/serialize.hpp"
#include "apid/target.hpp"
#include "common/result.hpp"
#include "storage/database.hpp"
#include "storage/models.hpp"
#include "storage/repos.hpp"

namespace postern::api {

struct Context {
    const Target& target;
    const PathParams& params;
    const storage::Token* token;  // null on public routes
    storage::Database& db;        // the calling thread's read connection
    const Router& router;
    const Request& request;
    ConnexState& connex;
    std::int64_t now;  // Unix ms
    const MailOptions& mail;

    storage::Scope scope() const { return {token->tenant_id, token->mailbox_id}; }
};

Response handle_healthz(const Context& c);
Response handle_openapi(const Context& c);
Response handle_me(const Context& c);
Response handle_list_mailboxes(const Context& c);
Response handle_list_messages(const Context& c);
Response handle_list_threads(const Context& c);
Response handle_get_message(const Context& c);
Response handle_get_message_raw(const Context& c);
Response handle_get_attachment(const Context& c);
Response handle_get_thread(const Context& c);
Response handle_patch_mailbox(const Context& c);

Response handle_send_message(const Context& c);
Response handle_reply(const Context& c);
Response handle_forward(const Context& c);
Response handle_list_deliveries(const Context& c);
Response handle_create_domain(const Context& c);
Response handle_list_domains(const Context& c);
Response handle_get_domain(const Context& c);
Response handle_domain_records(const Context& c);
Response handle_verify_domain(const Context& c);

// Shared by the handler files.
// The `{mailbox}` path parameter: an mbx_ id or an address, within the token's reach (404).
tl::expected<storage::Mailbox, Response> resolve_mailbox(const Context& c);
// The message named by `{id}`, within the token's reach (404).
tl::expected<storage::MessageRow, Response> find_message(const Context& c);
// A stored message's raw bytes.
tl::expected<std::string, Response> raw_of(const Context& c, const storage::MessageRow& row);
Response json_response(unsigned status, const boost::json::object& body);
// A storage error that the client cannot fix: logged (with `what`), answered with a bare 500.
Response storage_failure(const Error& e, std::string_view what);

// One page of a short list read whole (mailboxes, domains, a message's deliveries), with the
// route's `limit` and `cursor`: the items in id order (ids sort by creation time) after the
// cursor's, at most `limit`, as list_json. The cursor is bound to its list (`kind`, `list`:
// storage::make_cursor); `id_prefix` is what the items' ids start with. 400 for bad parameters.
template <class T, class ToJson>
tl::expected<boost::json::object, Response> page_short_list(const Context& c, std::vector<T> items,
                                                            char kind, std::string_view list,
                                                            std::string_view id_prefix,
                                                            ToJson to_json) {
    auto params = parse_list_params(c.target.query);
    if (!params) return tl::unexpected(bad_request(params.error()));
    auto after = storage::read_cursor(kind, list, params->cursor, id_prefix);
    if (!after) return tl::unexpected(bad_request({{"cursor", "is not a valid cursor"}}));
    std::sort(items.begin(), items.end(), [](const T& a, const T& b) { return a.id < b.id; });
    boost::json::array data;
    std::optional<std::string> next;
    const std::string* last = nullptr;
    for (const T& item : items) {
        if (*after && item.id <= **after) continue;
        if (data.size() == params->limit) {
            next = storage::make_cursor(kind, list, *last);
            break;
        }
        data.push_back(to_json(item));
        last = &item.id;
    }
    return list_json(std::move(data), next);
}

}  // namespace postern::api
