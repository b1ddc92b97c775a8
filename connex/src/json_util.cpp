#include "json_util.hpp"

#include <boost/json.hpp>

namespace postern::connex {
namespace json = boost::json;

std::string_view str(const json::object* o, std::string_view key) {
    if (!o) return {};
    auto* v = o->if_contains(key);
    return v && v->is_string() ? std::string_view(v->get_string()) : std::string_view{};
}

const json::object* obj(const json::object* o, std::string_view key) {
    if (!o) return nullptr;
    auto* v = o->if_contains(key);
    return v ? v->if_object() : nullptr;
}

bool number(const json::object* o, std::string_view key, double& out) {
    if (!o) return false;
    auto* v = o->if_contains(key);
    if (!v) return false;
    if (v->is_double())
        out = v->get_double();
    else if (v->is_int64())
        out = double(v->get_int64());
    else if (v->is_uint64())
        out = double(v->get_uint64());
    else
        return false;
    return true;
}

std::string_view address_of(std::string_view from) {
    auto lt = from.rfind('<');
    auto gt = from.rfind('>');
    if (lt != std::string_view::npos && gt != std::string_view::npos && gt > lt)
        return from.substr(lt + 1, gt - lt - 1);
    return from;
}

std::uint64_t fnv1a(std::string_view s, std::uint64_t h) {
    for (unsigned char c : s) {
        h ^= c;
        h *= 0x100000001b3ull;
    }
    return h;
}

std::string hex16(std::uint64_t v) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out(16, '0');
    for (int i = 15; i >= 0; --i, v >>= 4) out[i] = kHex[v & 0xf];
    return out;
}

RequestView read_request(const json::object& req) {
    RequestView r;
    r.app = str(req, "app");
    if (auto* c = req.if_contains("currentStatus"); c && c->is_string()) {
        r.has_current = true;
        r.current_status = c->get_string();
    }
    const auto* msg = obj(&req, "message");
    r.subject = str(msg, "subject");
    r.body = str(msg, "body");
    r.from = str(msg, "from");
    r.to = str(msg, "to");
    r.event_type = str(req, "eventType");
    r.inbound = r.event_type.empty() || r.event_type.starts_with("inbound");
    r.source_system = str(req, "sourceSystem");
    r.source_event_id = str(req, "sourceEventId");
    r.materialize_safe = str(req, "applyMode") == "materialize_safe";

    // Mailbox ownership. Without sourceMailbox the mailbox is Connex's own. A missing
    // replyPolicy follows the owner: source_app → source_app_only, otherwise connex_allowed
    // (for customer_domain the draft is sent as the customer's verified domain).
    const auto* mb = obj(&req, "sourceMailbox");
    r.has_mailbox = mb != nullptr;
    r.owner = str(mb, "senderIdentityOwner");
    r.reply_policy = str(mb, "replyPolicy");
    r.external_reply_url = str(mb, "externalReplyUrl");
    if (r.owner.empty()) r.owner = r.reply_policy == "source_app_only" ? "source_app" : "connex";
    if (r.reply_policy.empty())
        r.reply_policy = r.owner == "source_app" ? "source_app_only" : "connex_allowed";

    const auto* ext = obj(&req, "externalIds");
    const auto* object = obj(&req, "object");
    r.object_type = str(object, "type");
    if (r.object_type.empty()) r.object_type = str(ext, "objectType");
    r.object_id = str(object, "id");
    if (r.object_id.empty()) r.object_id = str(ext, "objectId");
    r.message_id = str(ext, "messageId");
    r.thread_id = str(ext, "threadId");
    const auto* actor = obj(&req, "actor");
    r.actor_id = str(actor, "id");
    r.actor_type = str(actor, "type");
    r.actor_label = str(actor, "label");
    r.workflow = obj(&req, "workflow");
    r.context = obj(&req, "context");
    return r;
}

}  // namespace postern::connex
