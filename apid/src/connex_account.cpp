// The account-gated Connex routes (a tenant-wide admin token stands in for the web session):
// POST /api/connex/dispatch, POST /api/connex/graph-event, GET and POST /api/connex/service-keys.
// The contract gives these no schemas; the shapes are ours (docs/connex-api.md).
#include <algorithm>
#include <boost/json.hpp>
#include <memory>

#include "apid/problem.hpp"
#include "common/ascii.hpp"
#include "common/ids.hpp"
#include "common/scopes.hpp"
#include "common/time.hpp"
#include "connex/validate.hpp"
#include "connex_handlers.hpp"
#include "storage/connex_repo.hpp"

namespace postern::api {

namespace json = boost::json;

namespace {

constexpr std::size_t kMaxName = 64;
constexpr std::size_t kMaxLabel = 1024;

// The words of a task type, however it is spelled: "Send-Email", "sendEmail", "SENDEmail",
// " send/email " and "SEND EMAIL" are all {"send", "email"}. Any character but a letter or a
// digit separates; so does a change from lower to upper case, and the last capital of a run
// that is followed by a lower-case letter ("SENDEmail").
std::vector<std::string> type_words(std::string_view type) {
    auto upper = [](char ch) { return ch >= 'A' && ch <= 'Z'; };
    auto lower = [](char ch) { return ch >= 'a' && ch <= 'z'; };
    std::vector<std::string> words(1);
    for (std::size_t i = 0; i < type.size(); ++i) {
        const char ch = type[i];
        if (!upper(ch) && !lower(ch) && !(ch >= '0' && ch <= '9')) {
            if (!words.back().empty()) words.emplace_back();
            continue;
        }
        const bool boundary = upper(ch) && i > 0 &&
                              (lower(type[i - 1]) ||
                               (upper(type[i - 1]) && i + 1 < type.size() && lower(type[i + 1])));
        if (boundary && !words.back().empty()) words.emplace_back();
        words.back() += ascii_lower(ch);
    }
    if (words.back().empty()) words.pop_back();
    return words;
}

// Task types that would reach someone outside: dispatch never performs them. A policy gate, so
// it errs towards blocking: a type that says send, forward or SMS anywhere, even run together
// ("sendemail"), or that names a reply, an email or a message, unless it is a short "verb noun"
// whose verb keeps the work inside (a draft a human approves, a classification, a summary, a
// label, an archive, a read).
bool is_external_send(std::string_view type) {
    auto words = type_words(type);
    std::string joined;
    for (const auto& w : words) joined += w;
    for (std::string_view stem : {"send", "forward", "sms", "external"})
        if (joined.find(stem) != std::string::npos) return true;
    static constexpr std::string_view kInside[] = {"draft", "classify", "summarize", "summarise",
                                                   "label", "archive",  "read",      "tag"};
    if (words.size() <= 2 && !words.empty() &&
        std::find(std::begin(kInside), std::end(kInside), words.front()) != std::end(kInside))
        return false;
    for (std::string_view stem : {"reply", "email", "mail", "message"})
        if (joined.find(stem) != std::string::npos) return true;
    return false;
}

// Checks a string member: required or optional, at most `max` bytes.
void check_string(const json::object& o, std::string_view key, bool required, std::size_t max,
                  std::vector<FieldError>& errors) {
    auto* v = o.if_contains(key);
    if (!v) {
        if (required) errors.push_back({std::string(key), "is required"});
        return;
    }
    if (!v->is_string() || (required && v->get_string().empty()))
        errors.push_back({std::string(key), "must be a non-empty string"});
    else if (v->get_string().size() > max)
        errors.push_back({std::string(key), "is longer than " + std::to_string(max) + " bytes"});
}

void check_kind(const json::object& o, std::string_view key, json::kind kind, std::string_view what,
                std::vector<FieldError>& errors) {
    auto* v = o.if_contains(key);
    bool ok = !v || v->kind() == kind || (kind == json::kind::int64 && v->is_uint64());
    if (!ok) errors.push_back({std::string(key), "must be " + std::string(what)});
}

json::value node(const json::value* v) {
    if (!v) return nullptr;
    if (v->is_string()) return json::object{{"type", "entity"}, {"key", v->get_string()}};
    if (v->is_object()) {
        const auto& o = v->get_object();
        auto type = str_member(o, "type"), key = str_member(o, "key");
        if (key.empty()) key = str_member(o, "id");
        if (!key.empty())
            return json::object{{"type", type.empty() ? "entity" : type}, {"key", key}};
    }
    return nullptr;
}

std::string node_ref(const json::value& n) {
    const auto& o = n.get_object();
    return std::string(o.at("type").get_string()) + ":" + std::string(o.at("key").get_string());
}

json::object key_record(const storage::Token& t, std::int64_t now) {
    json::array scopes;
    for (const auto& s : t.scopes) scopes.push_back(json::value(s));
    bool active = !t.revoked_at && !(t.expires_at && *t.expires_at <= now);
    return {
        {"id", t.id},
        {"hint", t.hint},
        {"scopes", std::move(scopes)},
        {"label", t.label ? json::value(*t.label) : json::value(nullptr)},
        {"createdAt", rfc3339(t.created_at)},
        {"expiresAt", t.expires_at ? json::value(rfc3339(*t.expires_at)) : json::value(nullptr)},
        {"revokedAt", t.revoked_at ? json::value(rfc3339(*t.revoked_at)) : json::value(nullptr)},
        {"active", active}};
}

}  // namespace

Response handle_connex_dispatch(const Context& c) {
    auto body = parse_object_body(c, c.connex.options().max_body_bytes, false);
    if (!body) return std::move(body.error());
    const json::object& req = body->get_object();
    std::vector<FieldError> errors;
    check_string(req, "type", true, kMaxName, errors);
    check_string(req, "label", false, kMaxLabel, errors);
    check_kind(req, "payload", json::kind::object, "an object", errors);
    check_kind(req, "target", json::kind::object, "an object", errors);
    check_kind(req, "external", json::kind::bool_, "a boolean", errors);
    check_kind(req, "requiresApproval", json::kind::bool_, "a boolean", errors);
    if (!errors.empty()) return bad_request(std::move(errors));

    auto trust = connex_trust_for(c);
    if (!trust) return storage_failure(trust.error(), "dispatch trust");
    std::int64_t score = trust->at("score").to_number<std::int64_t>();
    auto flag = [&](std::string_view k) {
        auto* v = req.if_contains(k);
        return v && v->is_bool() && v->get_bool();
    };
    auto d = std::make_shared<storage::ConnexDispatchRow>();
    d->id = new_id("dsp");
    d->type = std::string(str_member(req, "type"));
    d->label = std::string(str_member(req, "label"));
    if (d->label.empty()) d->label = d->type;
    d->created_at = c.now;
    std::string decision, reason;
    if (flag("external") || is_external_send(d->type)) {
        d->status = "blocked", decision = "blocked";
        reason = "dispatch is internal only: external sends are drafts a human approves";
    } else if (flag("requiresApproval") || d->type == "require_approval" ||
               d->type == "draft_reply" || score < 70) {
        d->status = "pending_approval", decision = "routed_for_approval";
        reason = score < 70 ? "trust below 70 restricts network dispatch: approval required"
                            : "the task requires approval";
    } else {
        d->status = "queued", decision = "accepted";
        reason = "queued as an internal dispatch record";
    }
    json::object stored{{"request", req}, {"decision", decision}, {"reason", reason}};
    d->payload_json = json::serialize(stored);
    std::string tenant = c.token->tenant_id;
    json::object reply{{"ok", true},
                       {"type", "connex.dispatch.result"},
                       {"tenantId", tenant},
                       {"dispatchId", d->id},
                       {"decision", decision},
                       {"status", d->status},
                       {"external", false},
                       {"reason", reason},
                       {"trust", {{"score", score}, {"band", trust->at("band")}}}};
    auto text = std::make_shared<std::string>(json::serialize(reply));
    return deferred(
        [d, tenant, actor = c.token->id](storage::Database& db) -> Result<void> {
            POSTERN_TRY(storage::insert_connex_dispatch(db, tenant, *d));
            json::object data{{"dispatch_id", d->id},
                              {"type", d->type},
                              {"status", d->status},
                              {"external", false}};
            POSTERN_TRY(storage::append_audit(db, tenant, actor, "connex.dispatch.create", d->id,
                                              json::serialize(data)));
            return storage::append_event(db, tenant, std::nullopt, "connex.dispatch.created",
                                         json::serialize(data), d->created_at);
        },
        [text](const Result<void>& r) -> Response {
            if (!r) return storage_failure(r.error(), "dispatch write");
            return Response::json(200, *text);
        });
}

Response handle_connex_graph_event(const Context& c) {
    auto body = parse_object_body(c, c.connex.options().max_body_bytes, false);
    if (!body) return std::move(body.error());
    const json::object& req = body->get_object();
    std::vector<FieldError> errors;
    std::string_view kind_key = req.contains("kind") ? "kind" : "type";
    check_string(req, kind_key, true, kMaxName, errors);
    check_string(req, "relationship", false, kMaxName, errors);
    check_kind(req, "properties", json::kind::object, "an object", errors);
    json::value from = node(req.if_contains("from")), to = node(req.if_contains("to"));
    if (req.contains("from") && from.is_null())
        errors.push_back({"from", "must be a string or an object with type and key"});
    if (req.contains("to") && to.is_null())
        errors.push_back({"to", "must be a string or an object with type and key"});
    if (!errors.empty()) return bad_request(std::move(errors));

    json::array nodes, edges;
    if (!from.is_null()) nodes.push_back(from);
    if (!to.is_null()) nodes.push_back(to);
    if (!from.is_null() && !to.is_null()) {
        auto rel = str_member(req, "relationship");
        edges.push_back({{"from", node_ref(from)},
                         {"to", node_ref(to)},
                         {"relationship", rel.empty() ? std::string_view("related_to") : rel}});
    }
    json::object normalized{{"kind", str_member(req, kind_key)},
                            {"nodes", std::move(nodes)},
                            {"edges", std::move(edges)}};
    if (auto* p = req.if_contains("properties")) normalized["properties"] = *p;
    auto id = new_id("cxg");
    std::string tenant = c.token->tenant_id;
    auto data = std::make_shared<std::string>(json::serialize(normalized));
    auto reply = std::make_shared<std::string>(
        json::serialize(json::object{{"ok", true},
                                     {"type", "connex.graph_event.result"},
                                     {"tenantId", tenant},
                                     {"graphEventId", id},
                                     {"normalized", normalized}}));
    std::string kind(str_member(req, kind_key));
    std::int64_t now = c.now;
    return deferred(
        [=](storage::Database& db) {
            return storage::insert_connex_graph_event(db, tenant, id, kind, *data, now);
        },
        [reply](const Result<void>& r) -> Response {
            if (!r) return storage_failure(r.error(), "graph event write");
            return Response::json(200, *reply);
        });
}

Response handle_connex_list_keys(const Context& c) {
    if (auto errors = reject_params(c.target.query); !errors.empty()) return bad_request(errors);
    auto tokens = storage::list_tokens(c.db, c.token->tenant_id);
    if (!tokens) return storage_failure(tokens.error(), "list_tokens");
    json::array keys;
    for (const auto& t : *tokens)
        if (t.kind == "connex") keys.push_back(key_record(t, c.now));
    return json_response(200, {{"ok", true},
                               {"type", "connex.service_keys"},
                               {"tenantId", c.token->tenant_id},
                               {"keys", std::move(keys)},
                               {"allowedScopes", {"status:evaluate"}}});
}

Response handle_connex_create_key(const Context& c) {
    auto body = parse_object_body(c, c.connex.options().max_body_bytes, true);
    if (!body) return std::move(body.error());
    const json::object& req = body->get_object();
    std::vector<FieldError> errors;
    for (const auto& member : req)
        if (member.key() != "label" && member.key() != "scopes" && member.key() != "expiresInDays")
            errors.push_back({std::string(member.key()), "is not a field of this request"});
    check_string(req, "label", false, kMaxLabel, errors);
    // A key's label is printed by `postern token list`: no line breaks or terminal escapes.
    if (has_control(str_member(req, "label")))
        errors.push_back({"label", "must not contain control characters"});
    std::vector<std::string> scopes{"status:evaluate"};
    if (auto* s = req.if_contains("scopes")) {
        scopes.clear();
        if (!s->is_array() || s->get_array().empty())
            errors.push_back({"scopes", "must be a non-empty array of scope names"});
        else
            for (const auto& v : s->get_array()) {
                if (v.is_string() && is_connex_scope(v.get_string())) {
                    if (std::find(scopes.begin(), scopes.end(), v.get_string()) == scopes.end())
                        scopes.emplace_back(v.get_string());  // named twice: held once
                } else
                    errors.push_back({"scopes", "Connex keys carry only: status:evaluate"});
            }
    }
    std::optional<std::int64_t> expires;
    if (auto* e = req.if_contains("expiresInDays")) {
        auto days = connex::json_integer(e);
        if (!days || *days < 1 || *days > 3650)
            errors.push_back({"expiresInDays", "must be an integer from 1 to 3650"});
        else
            expires = c.now + *days * 86'400'000;
    }
    if (!errors.empty()) return bad_request(std::move(errors));
    std::optional<std::string> label;
    if (auto l = str_member(req, "label"); !l.empty()) label = std::string(l);
    std::string tenant = c.token->tenant_id, actor = c.token->id;
    auto created = std::make_shared<storage::NewToken>();
    std::int64_t now = c.now;
    return deferred(
        [=](storage::Database& db) -> Result<void> {
            auto t =
                storage::create_token(db, tenant, std::nullopt, scopes, label, expires, "connex");
            if (!t) return tl::unexpected(t.error());
            *created = std::move(*t);
            return storage::log_token_created(db, created->token, actor);
        },
        [created, now](const Result<void>& r) -> Response {
            if (!r) return storage_failure(r.error(), "service key create");
            return json_response(200, {{"ok", true},
                                       {"type", "connex.service_key.created"},
                                       {"key", created->secret},
                                       {"record", key_record(created->token, now)},
                                       {"warning", "store the key now: it is shown only once"}});
        });
}

}  // namespace postern::api
