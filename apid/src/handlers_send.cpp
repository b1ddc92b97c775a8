// Sending over REST: a new message, a reply, a forward (each a MIME message built with GMime,
// stored as the Sent copy with one queued delivery per distinct recipient by
// storage::enqueue_outbound, in one writer job with its audit row and Idempotency-Key), and each
// recipient's delivery state. Every message and mailbox is found through the token's scope.
//
// Size limits: the built message (attachments decoded, then MIME-encoded) may be at most
// [outbound] max_message_bytes (413 otherwise). The HTTP body of these routes may be as large as
// that limit allows in base64 (see server.cpp body_limit_for), even when [api] max_body_bytes is
// smaller; [api] max_body_bytes still bounds every other route.
#include <boost/json.hpp>
#include <memory>

#include "apid/problem.hpp"
#include "apid/serialize.hpp"
#include "common/ascii.hpp"
#include "common/ids.hpp"
#include "common/log.hpp"
#include "common/time.hpp"
#include "handlers.hpp"
#include "idempotency.hpp"
#include "send_request.hpp"
#include "storage/outbound.hpp"

namespace postern::api {

namespace json = boost::json;

namespace {

constexpr std::string_view kSendRoute = "POST /v1/mailboxes/{mailbox}/messages";
constexpr std::string_view kReplyRoute = "POST /v1/messages/{id}/reply";
constexpr std::string_view kForwardRoute = "POST /v1/messages/{id}/forward";
// References keeps the root and the newest ids when a thread grows long (RFC 5322 §3.6.4 allows
// trimming); this bounds the header.
constexpr std::size_t kMaxReferences = 30;

bool same_address(std::string_view a, std::string_view b) { return iequals_ascii(a, b); }

// Sending from a domain needs ownership, SPF and DKIM verified ([outbound]
// require_verified_domain). 403: the request is fine, the policy forbids it.
std::optional<Response> check_sender_domain(const Context& c, const storage::Mailbox& mb) {
    if (!c.mail.require_verified_domain) return std::nullopt;
    auto d = storage::find_tenant_domain(c.db, mb.tenant_id, mb.domain_id);
    if (!d) return storage_failure(d.error(), "find_tenant_domain");
    if (*d && (*d)->can_send()) return std::nullopt;
    std::string name = *d ? (*d)->name : mb.address_key.substr(mb.address_key.find('@') + 1);
    std::string missing;
    if (*d) {
        auto add = [&](bool ok, const char* what) {
            if (!ok) missing += std::string(missing.empty() ? "" : ", ") + what;
        };
        add((*d)->ownership_verified_at.has_value(), "ownership");
        add((*d)->spf_verified_at.has_value(), "SPF");
        add((*d)->dkim_verified_at.has_value(), "DKIM");
    }
    return problem(403, "sending from " + name + " is not allowed until the domain is verified" +
                            (missing.empty() ? "" : " (not verified: " + missing + ")") +
                            "; publish its records and run POST /v1/domains/{id}/verify");
}

std::vector<std::string> envelope_recipients(const mime::Outgoing& out,
                                             const std::vector<mime::Mailbox>& bcc) {
    std::vector<std::string> r;
    for (const auto* list : {&out.to, &out.cc, &bcc})
        for (const auto& m : *list) r.push_back(m.address);
    return r;
}

json::object delivery_json(const storage::DeliveryRow& d) {
    json::object o;
    o["id"] = d.id;
    o["recipient"] = utf8_clean(d.recipient);
    o["state"] = d.state;
    o["attempts"] = d.attempts;
    o["last_reply"] = d.last_reply ? json::value(utf8_clean(*d.last_reply)) : json::value(nullptr);
    o["last_host"] = d.last_host ? json::value(utf8_clean(*d.last_host)) : json::value(nullptr);
    o["last_attempt_at"] = timestamp_or_null(d.last_attempt_at);
    o["next_attempt_at"] = d.state == "queued" || d.state == "deferred"
                               ? timestamp_or_null(d.next_attempt_at)
                               : json::value(nullptr);
    o["created_at"] = rfc3339(d.created_at);
    o["updated_at"] = rfc3339(d.updated_at);
    return o;
}

// Builds, checks and queues `out` from mailbox `mb` to `to`+`cc`+`bcc`; 202 once committed.
Response send_built(const Context& c, const storage::Mailbox& mb, mime::Outgoing out,
                    const std::vector<mime::Mailbox>& bcc, std::optional<IdempotencyKey> key,
                    std::string_view route) {
    if (auto denied = check_sender_domain(c, mb)) return std::move(*denied);
    out.from = {"", mb.address};
    out.hostname = c.mail.hostname;
    out.date_ms = c.now;
    auto built = mime::build_message(out);
    if (!built) {
        if (built.error().code() == Errc::invalid_argument)
            return problem(422, built.error().message(), {{"body", built.error().message()}});
        return storage_failure(built.error(), "build_message");
    }
    if (built->raw.size() > c.mail.max_message_bytes)
        return problem(413, "the message is " + std::to_string(built->raw.size()) +
                                " bytes once encoded; the limit is " +
                                std::to_string(c.mail.max_message_bytes) + " bytes");
    if (c.mail.disk_room) {
        // As MAIL ... SIZE= on the MX: a message may take at most half the room above the reserve.
        if (built->raw.size() > c.mail.disk_room->room(monotonic_ms()) / 2)
            return problem(507,
                           "the server's storage is nearly full (smtp.min_free_bytes); nothing "
                           "was stored: try again later");
    }
    auto summary = mime::summarize(built->raw);
    if (!summary) return storage_failure(summary.error(), "summarize built message");
    auto m = std::make_shared<storage::OutboundMessage>();
    m->tenant_id = mb.tenant_id;
    m->mailbox_id = mb.id;
    m->raw = std::move(built->raw);
    m->envelope_from = mb.address;
    m->recipients = envelope_recipients(out, bcc);
    m->summary = std::move(*summary);
    m->created_at = c.now;
    m->source = "api";
    std::string actor = c.token->id;
    std::string header_id = built->message_id;
    std::string what(route);
    return idempotent_write(
        std::move(key),
        [m, actor, header_id](storage::Database& db) -> Result<JsonReply> {
            auto q = storage::enqueue_outbound(db, *m);
            if (!q) return tl::unexpected(q.error());
            json::object detail{{"message_id", q->message_id},
                                {"recipients", static_cast<std::int64_t>(q->deliveries.size())},
                                {"source", "api"}};
            POSTERN_TRY(storage::append_audit(db, m->tenant_id, actor, "message.send",
                                              q->message_id, json::serialize(detail)));
            std::string url = "/v1/messages/" + q->message_id + "/deliveries";
            json::array deliveries;
            for (const auto& d : q->deliveries)
                deliveries.push_back(json::object{{"id", d.id},
                                                  {"recipient", utf8_clean(d.recipient)},
                                                  {"state", d.state},
                                                  {"url", url}});
            json::object o;
            o["id"] = q->message_id;
            o["thread_id"] = q->thread_id;
            o["mailbox_id"] = m->mailbox_id;
            o["message_id"] = header_id;
            o["status"] = "queued";
            o["deliveries_url"] = url;
            o["deliveries"] = std::move(deliveries);
            return JsonReply{202, json::serialize(o)};
        },
        what, c.now);
}

tl::expected<storage::Mailbox, Response> mailbox_of(const Context& c,
                                                    const storage::MessageRow& row) {
    auto found = storage::find_mailbox(c.db, c.token->tenant_id, row.mailbox_id);
    if (!found) return tl::unexpected(storage_failure(found.error(), "find_mailbox"));
    if (!*found) return tl::unexpected(not_found("no such message"));
    return std::move(**found);
}

// The parent's References (else its In-Reply-To) and its Message-ID, leaving out any id that
// could not be written back as it is (received mail may carry anything there).
std::vector<std::string> thread_references(const mime::Summary& s) {
    std::vector<std::string> refs;
    for (const auto& r : s.references)
        if (mime::is_writable_msg_id(r)) refs.push_back(r);
    if (refs.empty() && mime::is_writable_msg_id(s.in_reply_to)) refs.push_back(s.in_reply_to);
    if (mime::is_writable_msg_id(s.message_id)) refs.push_back(s.message_id);
    if (refs.size() > kMaxReferences)
        refs.erase(refs.begin() + 1, refs.end() - static_cast<long>(kMaxReferences - 1));
    return refs;
}

void add_unique(std::vector<mime::Mailbox>& list, const mime::Mailbox& m,
                const std::vector<const std::vector<mime::Mailbox>*>& seen) {
    for (const auto* l : seen)
        for (const auto& x : *l)
            if (same_address(x.address, m.address)) return;
    for (const auto& x : list)
        if (same_address(x.address, m.address)) return;
    list.push_back(m);
}

}  // namespace

Response handle_send_message(const Context& c) {
    if (auto errors = reject_params(c.target.query); !errors.empty()) return bad_request(errors);
    auto key = begin_idempotent(c, kSendRoute);
    if (!key) return std::move(key.error());
    auto req = parse_send_request(c.request.body, SendKind::send);
    if (!req) return std::move(req.error());
    auto mailbox = resolve_mailbox(c);
    if (!mailbox) return std::move(mailbox.error());
    mime::Outgoing out = outgoing_of(*req);
    if (!req->in_reply_to.empty()) {
        if (is_id(req->in_reply_to, "msg")) {
            // One of our messages: thread onto it (it must be in this mailbox).
            auto parent = storage::get_message(c.db, c.scope(), req->in_reply_to);
            if (!parent) return storage_failure(parent.error(), "get_message");
            if (!*parent || (*parent)->mailbox_id != mailbox->id)
                return problem(422, "in_reply_to: no such message in this mailbox",
                               {{"in_reply_to", "names no message in this mailbox"}});
            auto raw = raw_of(c, **parent);
            if (!raw) return std::move(raw.error());
            auto s = mime::summarize(*raw);
            if (!s) return storage_failure(s.error(), "summarize parent");
            if (mime::is_writable_msg_id(s->message_id)) out.in_reply_to = s->message_id;
            out.references = thread_references(*s);
        } else {
            out.in_reply_to = req->in_reply_to;
            out.references = {req->in_reply_to};
        }
    }
    return send_built(c, *mailbox, std::move(out), req->bcc, std::move(*key), kSendRoute);
}

// What reply and forward start from: the Idempotency-Key, the request, and the original message
// as the token sees it (its mailbox, bytes and summary).
struct Original {
    std::optional<IdempotencyKey> key;
    SendRequest req;
    storage::Mailbox mailbox;
    std::string raw;
    mime::Summary summary;
};

tl::expected<Original, Response> load_original(const Context& c, std::string_view route,
                                               SendKind kind) {
    if (auto errors = reject_params(c.target.query); !errors.empty())
        return tl::unexpected(bad_request(errors));
    auto key = begin_idempotent(c, route);
    if (!key) return tl::unexpected(std::move(key.error()));
    auto req = parse_send_request(c.request.body, kind);
    if (!req) return tl::unexpected(std::move(req.error()));
    auto row = find_message(c);
    if (!row) return tl::unexpected(std::move(row.error()));
    auto mailbox = mailbox_of(c, *row);
    if (!mailbox) return tl::unexpected(std::move(mailbox.error()));
    auto raw = raw_of(c, *row);
    if (!raw) return tl::unexpected(std::move(raw.error()));
    auto s = mime::summarize(*raw);
    if (!s) return tl::unexpected(storage_failure(s.error(), "summarize " + row->id));
    return Original{std::move(*key), std::move(*req), std::move(*mailbox), std::move(*raw),
                    std::move(*s)};
}

Response handle_reply(const Context& c) {
    auto o = load_original(c, kReplyRoute, SendKind::reply);
    if (!o) return std::move(o.error());
    auto& [key, req, mailbox, raw, s] = *o;

    const std::string& self = mailbox.address_key;
    mime::Outgoing out;
    // To the Reply-To, else the From; replying to our own sent message goes to its recipients.
    bool ours = !s.from.empty() && same_address(s.from.front().address, self);
    const auto& primary = !s.reply_to.empty() ? s.reply_to : ours ? s.to : s.from;
    for (const auto& m : primary)
        if (!same_address(m.address, self)) add_unique(out.to, m, {});
    if (req.reply_all) {
        for (const auto* list : {&s.to, &s.cc})
            for (const auto& m : *list)
                if (!same_address(m.address, self)) add_unique(out.cc, m, {&out.to});
    }
    for (const auto& m : req.cc) add_unique(out.cc, m, {&out.to});
    if (out.to.empty() && out.cc.empty() && req.bcc.empty())
        return problem(422, "the message has no one to reply to",
                       {{"to", "the original names no recipient other than this mailbox"}});
    out.subject = istarts_with(s.subject, "re:") ? s.subject : "Re: " + s.subject;
    out.text = req.text;
    out.html = req.html;
    out.attachments = std::move(req.attachments);
    out.extra_headers = req.headers;
    if (mime::is_writable_msg_id(s.message_id)) out.in_reply_to = s.message_id;
    out.references = thread_references(s);
    return send_built(c, mailbox, std::move(out), req.bcc, std::move(key), kReplyRoute);
}

// The original goes along whole as a message/rfc822 attachment (after any given attachments),
// so its headers, parts and signatures arrive intact; the given text/html is the cover note.
Response handle_forward(const Context& c) {
    auto o = load_original(c, kForwardRoute, SendKind::forward);
    if (!o) return std::move(o.error());
    auto& [key, req, mailbox, raw, s] = *o;
    mime::Outgoing out = outgoing_of(req);  // reply_to is not a forward field: it stays empty
    if (out.subject.empty())
        out.subject = istarts_with(s.subject, "fwd:") ? s.subject : "Fwd: " + s.subject;
    std::string name = s.subject.empty() ? "forwarded.eml" : s.subject + ".eml";
    out.attachments.push_back({name, "message/rfc822", std::move(raw)});
    return send_built(c, mailbox, std::move(out), req.bcc, std::move(key), kForwardRoute);
}

Response handle_list_deliveries(const Context& c) {
    auto row = find_message(c);
    if (!row) return std::move(row.error());
    auto list = storage::list_deliveries(c.db, c.scope(), row->id);
    if (!list) return storage_failure(list.error(), "list_deliveries");
    auto page = page_short_list(c, std::move(*list), 'v', row->id, "dlv", delivery_json);
    if (!page) return std::move(page.error());
    page->emplace("message_id", row->id);
    return json_response(200, *page);
}

}  // namespace postern::api
