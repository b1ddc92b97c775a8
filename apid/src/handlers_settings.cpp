// PATCH /v1/mailboxes/{mailbox}: per-mailbox settings (today: connex_auto_evaluate), and the
// Connex pieces of the /v1 views (a message's stored evaluation, a mailbox's setting).
#include <boost/json.hpp>
#include <memory>

#include "apid/problem.hpp"
#include "apid/serialize.hpp"
#include "common/time.hpp"
#include "connex_plan.hpp"
#include "handlers.hpp"
#include "json_body.hpp"
#include "settings.hpp"
#include "storage/connex_repo.hpp"

namespace postern::api {

namespace json = boost::json;

Result<json::value> message_connex_json(storage::Database& db, std::string_view tenant_id,
                                        std::string_view message_id) {
    auto e = storage::get_message_evaluation(db, tenant_id, message_id);
    if (!e) return tl::unexpected(e.error());
    if (!*e) return json::value(nullptr);
    boost::system::error_code ec;
    json::value result = json::parse((*e)->result_json, ec);
    if (ec || !result.is_object()) return fail(Errc::internal, "stored evaluation is not JSON");
    expand_result(result.get_object());
    json::object o;
    o["integration_event_id"] = (*e)->event_id;
    o["evaluated_at"] = rfc3339((*e)->created_at);
    o["status"] = (*e)->status;
    o["result"] = std::move(result);
    return json::value(std::move(o));
}

Response handle_patch_mailbox(const Context& c) {
    if (auto errors = reject_params(c.target.query); !errors.empty()) return bad_request(errors);
    if (c.request.body.size() > 64 * 1024) return problem(413, "the request body is too large");
    auto parsed = parse_json(c.request.body);
    if (!parsed) return bad_request({{"body", parsed.error()}});
    json::value body = std::move(*parsed);
    if (!body.is_object()) return bad_request({{"body", "must be a JSON object"}});
    std::vector<FieldError> errors;
    std::optional<bool> auto_evaluate;
    for (const auto& kv : body.get_object()) {
        if (kv.key() == "connex_auto_evaluate" && kv.value().is_null())
            continue;  // the same as left out (docs/api.md): nothing to change
        if (kv.key() == "connex_auto_evaluate" && kv.value().is_bool())
            auto_evaluate = kv.value().get_bool();
        else if (kv.key() == "connex_auto_evaluate")
            errors.push_back({"connex_auto_evaluate", "must be true or false"});
        else
            errors.push_back({std::string(kv.key()), "is not a mailbox setting"});
    }
    if (errors.empty() && !auto_evaluate) errors.push_back({"body", "names no setting to change"});
    if (!errors.empty()) return bad_request(std::move(errors));

    auto found = storage::find_mailbox(c.db, c.token->tenant_id, c.params.get("mailbox"));
    if (!found) return storage_failure(found.error(), "find_mailbox");
    if (!*found) return not_found("no such mailbox");
    auto mailbox = std::make_shared<storage::Mailbox>(std::move(**found));
    std::string actor = c.token->id;
    bool on = *auto_evaluate;
    std::int64_t now = c.now;
    return deferred(
        [=](storage::Database& db) -> Result<void> {
            // A PATCH that changes nothing writes nothing (no audit entry, no event).
            auto changed = storage::update_mailbox_auto_evaluate(db, mailbox->tenant_id,
                                                                 mailbox->id, on, actor, now);
            if (!changed) return tl::unexpected(changed.error());
            return {};
        },
        [mailbox, on](const Result<void>& r) -> Response {
            if (!r) return storage_failure(r.error(), "mailbox settings write");
            json::object o = mailbox_json(*mailbox);
            o["connex_auto_evaluate"] = on;
            return json_response(200, o);
        });
}

}  // namespace postern::api
