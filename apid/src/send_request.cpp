#include "send_request.hpp"

#include <boost/json.hpp>

#include "common/address.hpp"
#include "common/ascii.hpp"
#include "common/crypto.hpp"
#include "common/ids.hpp"
#include "json_body.hpp"

namespace postern::api {

namespace json = boost::json;

namespace {

// Bounds on what one request may name; the message size is bounded separately (413).
constexpr std::size_t kMaxRecipients = 100;
constexpr std::size_t kMaxAttachments = 100;
constexpr std::size_t kMaxHeaders = 50;
constexpr std::size_t kMaxSubject = 998;

std::string trim(std::string_view s) { return std::string(trim_wsp(s)); }

// GMime takes text as C strings: a NUL would silently end the text there.
constexpr const char* kNoNul = "must not contain NUL characters (U+0000)";

// A media type that may not be base64-encoded (RFC 2045 §6.4): multipart/* and message/*, but
// message/rfc822 (embedded as a message) and message/global (RFC 6532 §3.5 allows base64).
bool composite(const mime::MediaType& m) {
    if (iequals_ascii(m.type, "multipart")) return true;
    return iequals_ascii(m.type, "message") && !iequals_ascii(m.subtype, "rfc822") &&
           !iequals_ascii(m.subtype, "global");
}

struct Reader {
    SendErrors errors;

    std::optional<std::string> string(const json::value& v, const std::string& field) {
        if (!v.is_string()) {
            errors.shape.push_back({field, "must be a string"});
            return std::nullopt;
        }
        return std::string(v.get_string());
    }

    std::optional<mime::Mailbox> mailbox(const json::value& v, const std::string& field) {
        if (v.is_string()) {
            auto m = parse_mailbox_text(v.get_string());
            if (!m)
                errors.semantic.push_back(
                    {field,
                     "is not one valid email address (\"a@b\" or \"Name <a@b>\"; give "
                     "several as a list, and quote a name with , ; : < > in it)"});
            return m;
        }
        if (const auto* o = v.if_object()) {
            std::string name;
            if (auto* n = o->if_contains("name"); n && !n->is_null()) {
                if (!n->is_string()) {
                    errors.shape.push_back({field + ".name", "must be a string"});
                    return std::nullopt;
                }
                name = trim(n->get_string());
            }
            auto* a = o->if_contains("address");
            if (!a || !a->is_string()) {
                errors.shape.push_back({field + ".address", "must be a string"});
                return std::nullopt;
            }
            for (const auto& kv : *o)
                if (kv.key() != "name" && kv.key() != "address")
                    errors.shape.push_back({field + "." + std::string(kv.key()), "is not a field"});
            if (has_control(name)) {
                errors.semantic.push_back({field + ".name", "must not contain control characters"});
                return std::nullopt;
            }
            auto parsed = parse_address(std::string_view(a->get_string()));
            if (!parsed) {
                errors.semantic.push_back({field + ".address", "is not a valid email address"});
                return std::nullopt;
            }
            return mime::Mailbox{name, parsed->str()};
        }
        errors.shape.push_back({field, "must be an address string or {name, address}"});
        return std::nullopt;
    }

    // A list, or one address given alone.
    std::vector<mime::Mailbox> mailboxes(const json::value& v, const std::string& field) {
        std::vector<mime::Mailbox> out;
        if (!v.is_array()) {
            if (auto m = mailbox(v, field)) out.push_back(std::move(*m));
            return out;
        }
        const auto& arr = v.get_array();
        if (arr.size() > kMaxRecipients) {
            errors.semantic.push_back(
                {field, "has more than " + std::to_string(kMaxRecipients) + " addresses"});
            return out;
        }
        for (std::size_t i = 0; i < arr.size(); ++i)
            if (auto m = mailbox(arr[i], field + "[" + std::to_string(i) + "]"))
                out.push_back(std::move(*m));
        return out;
    }

    void attachments(const json::value& v, std::vector<mime::OutgoingAttachment>& out) {
        const auto* arr = v.if_array();
        if (!arr) {
            errors.shape.push_back({"attachments", "must be an array"});
            return;
        }
        if (arr->size() > kMaxAttachments) {
            errors.semantic.push_back({"attachments", "has too many items"});
            return;
        }
        for (std::size_t i = 0; i < arr->size(); ++i) {
            std::string f = "attachments[" + std::to_string(i) + "]";
            const auto* o = (*arr)[i].if_object();
            if (!o) {
                errors.shape.push_back({f, "must be an object"});
                continue;
            }
            mime::OutgoingAttachment a;
            a.content_type = "application/octet-stream";
            bool have_content = false, decoded = true;
            for (const auto& kv : *o) {
                std::string k(kv.key());
                if (kv.value().is_null() &&
                    (k == "filename" || k == "content_type" || k == "content"))
                    continue;  // null is the same as leaving the field out (docs/api.md)
                if (k == "filename") {
                    if (auto s = string(kv.value(), f + ".filename")) a.filename = *s;
                } else if (k == "content_type") {
                    if (auto s = string(kv.value(), f + ".content_type")) a.content_type = *s;
                } else if (k == "content") {
                    auto s = string(kv.value(), f + ".content");
                    if (!s) continue;
                    std::string compact;
                    compact.reserve(s->size());
                    for (char ch : *s)
                        if (ch != '\r' && ch != '\n' && ch != ' ') compact += ch;
                    if (!base64url_decode(compact, a.data)) {
                        errors.semantic.push_back({f + ".content", "is not valid base64"});
                        decoded = false;
                    }
                    have_content = true;
                } else {
                    errors.shape.push_back({f + "." + k, "is not a field"});
                }
            }
            if (!have_content) errors.shape.push_back({f + ".content", "is required (base64)"});
            if (has_control(a.filename))
                errors.semantic.push_back({f + ".filename", "must not contain control characters"});
            if (auto media = mime::parse_media_type(a.content_type); !media)
                errors.semantic.push_back(
                    {f + ".content_type",
                     "must be a media type: type/subtype, then any \"; name=value\" parameters"});
            else if (composite(*media))
                // Attachments go out base64-encoded, which RFC 2045 §6.4 forbids for these.
                errors.semantic.push_back(
                    {f + ".content_type",
                     "multipart/* and message/* (but message/rfc822) cannot be attached: use "
                     "application/octet-stream"});
            else if (have_content && decoded && iequals_ascii(media->type, "message") &&
                     iequals_ascii(media->subtype, "rfc822") &&
                     !mime::is_attachable_message(a.data))
                errors.semantic.push_back(
                    {f + ".content",
                     "is not a message, which message/rfc822 needs (header fields, a blank line, "
                     "the body): use application/octet-stream for other data"});
            out.push_back(std::move(a));
        }
    }

    void headers(const json::value& v, std::vector<mime::Header>& out) {
        const auto* o = v.if_object();
        if (!o) {
            errors.shape.push_back({"headers", "must be an object of name: value"});
            return;
        }
        if (o->size() > kMaxHeaders) {
            errors.semantic.push_back({"headers", "has too many fields"});
            return;
        }
        for (const auto& kv : *o) {
            std::string name(kv.key());
            std::string f = "headers." + name;
            auto value = string(kv.value(), f);
            if (!value) continue;
            bool name_ok = !name.empty() && name.size() <= 76;
            for (char ch : name)
                if (static_cast<unsigned char>(ch) <= 32 || static_cast<unsigned char>(ch) >= 127 ||
                    ch == ':')
                    name_ok = false;
            if (!name_ok)
                errors.semantic.push_back({f, "is not a valid header field name"});
            else if (mime::is_structural_header(name))
                errors.semantic.push_back(
                    {f,
                     "is set by Postern (structural headers such as From, Bcc, Content-Type "
                     "and Message-ID cannot be overridden)"});
            else if (value->find_first_of("\r\n") != std::string::npos || value->size() > 4000)
                errors.semantic.push_back({f, "must be one line of at most 4000 characters"});
            else if (std::any_of(out.begin(), out.end(), [&](const mime::Header& h) {
                         return iequals_ascii(h.name, name);
                     }))
                errors.semantic.push_back({f, "is named twice (header names ignore case)"});
            else
                out.push_back({name, *value});
        }
    }
};

bool allowed(SendKind kind, std::string_view field) {
    static constexpr std::string_view kSend[] = {"to",          "cc",     "bcc",  "reply_to",
                                                 "subject",     "text",   "html", "attachments",
                                                 "in_reply_to", "headers"};
    static constexpr std::string_view kReply[] = {"text",      "html", "attachments", "headers",
                                                  "reply_all", "cc",   "bcc"};
    static constexpr std::string_view kForward[] = {"to",   "cc",          "bcc",     "text",
                                                    "html", "attachments", "headers", "subject"};
    auto in = [&](const auto& list) {
        for (auto f : list)
            if (f == field) return true;
        return false;
    };
    switch (kind) {
        case SendKind::send:
            return in(kSend);
        case SendKind::reply:
            return in(kReply);
        case SendKind::forward:
            return in(kForward);
    }
    return false;
}

}  // namespace

std::optional<mime::Mailbox> parse_mailbox_text(std::string_view text) {
    std::string name;
    std::string_view addr = text;
    auto lt = text.rfind('<');
    if (lt != std::string_view::npos && !text.empty() && text.back() == '>') {
        name = trim(text.substr(0, lt));
        if (name.size() >= 2 && name.front() == '"' && name.back() == '"') {
            name = name.substr(1, name.size() - 2);
        } else if (name.find_first_of(",;:<>@[]\\\"") != std::string::npos) {
            // "Bob <a@b>, Eve <e@f>" is two mailboxes, not one named "Bob <a@b>, Eve": the
            // list was meant (a name with these characters must be quoted, RFC 5322 §3.2.3).
            return std::nullopt;
        }
        addr = text.substr(lt + 1, text.size() - lt - 2);
    }
    if (has_control(name)) return std::nullopt;
    auto parsed = parse_address(trim(addr));
    if (!parsed) return std::nullopt;
    return mime::Mailbox{name, parsed->str()};
}

tl::expected<SendRequest, Response> parse_send_request(std::string_view body, SendKind kind) {
    auto parsed = parse_json(body);
    if (!parsed) return tl::unexpected(bad_request({{"body", parsed.error()}}));
    json::value v = std::move(*parsed);
    if (!v.is_object()) return tl::unexpected(bad_request({{"body", "must be a JSON object"}}));
    SendRequest r;
    Reader rd;
    for (const auto& kv : v.get_object()) {
        std::string k(kv.key());
        const json::value& val = kv.value();
        if (!allowed(kind, k)) {
            rd.errors.shape.push_back({k, "is not a field of this request"});
            continue;
        }
        if (val.is_null()) continue;
        if (k == "to")
            r.to = rd.mailboxes(val, k);
        else if (k == "cc")
            r.cc = rd.mailboxes(val, k);
        else if (k == "bcc")
            r.bcc = rd.mailboxes(val, k);
        else if (k == "reply_to")
            r.reply_to = rd.mailboxes(val, k);
        else if (k == "subject") {
            if (auto s = rd.string(val, k)) {
                if (s->size() > kMaxSubject || s->find_first_of("\r\n") != std::string::npos)
                    rd.errors.semantic.push_back({k, "must be one line of at most 998 bytes"});
                else if (s->find('\0') != std::string::npos)
                    rd.errors.semantic.push_back({k, kNoNul});
                r.subject = *s;
            }
        } else if (k == "text" || k == "html") {
            if (auto s = rd.string(val, k)) {
                if (s->find('\0') != std::string::npos) rd.errors.semantic.push_back({k, kNoNul});
                for (std::size_t cr = s->find('\r'); cr != std::string::npos;
                     cr = s->find('\r', cr + 1))
                    if (cr + 1 == s->size() || (*s)[cr + 1] != '\n') {
                        rd.errors.semantic.push_back(
                            {k, "must not contain a CR that does not end a line (use \\n)"});
                        break;
                    }
                (k == "text" ? r.text : r.html) = std::move(*s);
            }
        } else if (k == "in_reply_to") {
            if (auto s = rd.string(val, k)) {
                std::string id = trim(*s);
                if (id.size() >= 2 && id.front() == '<' && id.back() == '>')
                    id = id.substr(1, id.size() - 2);
                const bool ours = id.starts_with("msg_") && id.find('@') == std::string::npos;
                if (ours ? !is_id(id, "msg") : !mime::is_writable_msg_id(id))
                    rd.errors.semantic.push_back(
                        {k, "must be a msg_ id or a Message-ID (left@right, RFC 5322 §3.6.4)"});
                r.in_reply_to = id;
            }
        } else if (k == "attachments")
            rd.attachments(val, r.attachments);
        else if (k == "headers")
            rd.headers(val, r.headers);
        else if (k == "reply_all") {
            if (!val.is_bool())
                rd.errors.shape.push_back({k, "must be true or false"});
            else
                r.reply_all = val.get_bool();
        }
    }
    if (!rd.errors.shape.empty()) return tl::unexpected(bad_request(std::move(rd.errors.shape)));
    if (kind != SendKind::reply && r.to.empty() && r.cc.empty() && r.bcc.empty() &&
        rd.errors.semantic.empty())
        rd.errors.semantic.push_back({"to", "names no recipient: give to, cc or bcc"});
    if (!rd.errors.semantic.empty()) {
        auto& e = rd.errors.semantic;
        std::string detail = e.size() == 1 ? e.front().field + ": " + e.front().message
                                           : "the request has invalid fields";
        return tl::unexpected(problem(422, std::move(detail), e));
    }
    return r;
}

mime::Outgoing outgoing_of(SendRequest& req) {
    mime::Outgoing out;
    out.to = req.to;
    out.cc = req.cc;
    out.reply_to = req.reply_to;
    out.subject = req.subject;
    out.text = req.text;
    out.html = req.html;
    out.attachments = std::move(req.attachments);
    out.extra_headers = req.headers;
    return out;
}

}  // namespace postern::api
