#include "apid/serialize.hpp"

#include <boost/json/parse.hpp>

#include "common/time.hpp"

namespace postern::api {

namespace json = boost::json;

std::string utf8_clean(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    std::size_t i = 0;
    while (i < s.size()) {
        auto c = static_cast<unsigned char>(s[i]);
        std::size_t len = c < 0x80           ? 1
                          : (c >> 5) == 0x6  ? 2
                          : (c >> 4) == 0xE  ? 3
                          : (c >> 3) == 0x1E ? 4
                                             : 0;
        bool ok = len != 0 && i + len <= s.size();
        std::uint32_t cp = len == 1   ? c
                           : len == 2 ? (c & 0x1F)
                           : len == 3 ? (c & 0x0F)
                                      : (c & 0x07);
        for (std::size_t k = 1; ok && k < len; ++k) {
            auto cc = static_cast<unsigned char>(s[i + k]);
            if ((cc & 0xC0) != 0x80) ok = false;
            cp = (cp << 6) | (cc & 0x3F);
        }
        // Refuse overlong forms, UTF-16 surrogates and code points past U+10FFFF.
        if (ok && ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
                   (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF)))
            ok = false;
        if (ok) {
            out.append(s.substr(i, len));
            i += len;
        } else {
            out += "\xEF\xBF\xBD";
            ++i;
        }
    }
    return out;
}

json::value timestamp_or_null(const std::optional<std::int64_t>& unix_ms) {
    if (!unix_ms) return nullptr;
    return json::value(rfc3339(*unix_ms));
}

namespace {

json::value text_or_null(std::string_view s) {
    if (s.empty()) return nullptr;
    return json::value(utf8_clean(s));
}

json::value opt_text_or_null(const std::optional<std::string>& s) {
    return s ? text_or_null(*s) : json::value(nullptr);
}

json::value parse_or(std::string_view text, json::value fallback) {
    boost::system::error_code ec;
    json::value v = json::parse(text, ec);
    if (ec) return fallback;
    return v;
}

// Normalises one stored {"name","address"} to {"name": string|null, "address": string}.
json::value address_json(const json::value& in) {
    const auto* o = in.if_object();
    if (!o) return nullptr;
    std::string name, address;
    if (auto* n = o->if_contains("name"); n && n->is_string()) name = n->as_string().c_str();
    if (auto* a = o->if_contains("address"); a && a->is_string()) address = a->as_string().c_str();
    return json::object{{"name", text_or_null(name)}, {"address", utf8_clean(address)}};
}

json::array address_list(std::string_view stored) {
    json::array out;
    json::value v = parse_or(stored, json::array());
    if (auto* arr = v.if_array())
        for (const auto& item : *arr)
            if (auto a = address_json(item); !a.is_null()) out.push_back(std::move(a));
    return out;
}

json::array address_list(const std::vector<mime::Mailbox>& list) {
    json::array out;
    for (const auto& m : list)
        out.push_back(
            json::object{{"name", text_or_null(m.name)}, {"address", utf8_clean(m.address)}});
    return out;
}

json::array string_list(std::string_view stored) {
    json::array out;
    json::value v = parse_or(stored, json::array());
    if (auto* arr = v.if_array())
        for (const auto& item : *arr)
            if (item.is_string()) out.push_back(item);
    return out;
}

json::array split_ids(const std::optional<std::string>& text) {
    json::array out;
    if (!text) return out;
    std::string_view s = *text;
    std::size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
        std::size_t j = i;
        while (j < s.size() && s[j] != ' ' && s[j] != '\t') ++j;
        if (j > i) out.push_back(json::value(utf8_clean(s.substr(i, j - i))));
        i = j;
    }
    return out;
}

}  // namespace

json::object mailbox_json(const storage::Mailbox& m) {
    return json::object{
        {"id", m.id}, {"address", utf8_clean(m.address)}, {"created_at", rfc3339(m.created_at)}};
}

json::object message_item_json(const storage::MessageRow& row) {
    json::array from = address_list(row.from_json);
    json::object o;
    o["id"] = row.id;
    o["thread_id"] = row.thread_id;
    o["mailbox_id"] = row.mailbox_id;
    o["from"] = from.empty() ? json::value(nullptr) : from.front();
    o["to"] = address_list(row.to_json);
    o["cc"] = address_list(row.cc_json);
    o["subject"] = utf8_clean(row.subject);
    o["date"] = timestamp_or_null(row.date);
    o["received_at"] = rfc3339(row.received_at);
    o["size"] = row.size;
    o["snippet"] = utf8_clean(row.snippet);
    o["has_attachments"] = row.has_attachments;
    o["flags"] = string_list(row.flags_json);
    // The stored SPF/DKIM/DMARC results ({"spf", "dkim", "dmarc", "action"}); null when the
    // message was not checked (sent mail, or checks off).
    json::value auth = row.auth_json.empty() ? json::value(nullptr)
                                             : parse_or(row.auth_json, json::value(nullptr));
    o["authentication"] = auth.is_object() ? std::move(auth) : json::value(nullptr);
    return o;
}

json::object attachment_json(const mime::Attachment& a) {
    return json::object{
        {"index", a.index},
        {"filename", text_or_null(a.filename)},
        {"content_type", safe_media_type(a.content_type)},
        {"size", a.size},
        {"content_id", text_or_null(a.content_id)},
        {"inline", a.inline_disposition},
    };
}

json::object message_detail_json(const storage::MessageRow& row, const mime::Parsed& parsed) {
    json::object o = message_item_json(row);
    o["message_id"] = opt_text_or_null(row.message_id_hdr);
    o["in_reply_to"] = opt_text_or_null(row.in_reply_to);
    o["references"] = split_ids(row.references_hdr);
    o["reply_to"] = address_list(parsed.summary.reply_to);
    json::array headers;
    for (const auto& h : parsed.headers)
        headers.push_back(
            json::object{{"name", utf8_clean(h.name)}, {"value", utf8_clean(h.value)}});
    o["headers"] = std::move(headers);
    o["text"] = text_or_null(parsed.text);
    o["html"] = text_or_null(parsed.html);
    json::array atts;
    for (const auto& a : parsed.attachments) atts.push_back(attachment_json(a));
    o["attachments"] = std::move(atts);
    return o;
}

json::object thread_json(const storage::ThreadRow& row) {
    json::array participants;
    json::value v = parse_or(row.participants_json, json::array());
    if (auto* arr = v.if_array())
        for (const auto& p : *arr)
            if (p.is_string())
                participants.push_back(json::value(utf8_clean(p.as_string().c_str())));
    json::object o;
    o["id"] = row.id;
    o["mailbox_id"] = row.mailbox_id;
    o["subject"] = utf8_clean(row.subject);
    o["message_count"] = row.message_count;
    o["participants"] = std::move(participants);
    o["created_at"] = rfc3339(row.created_at);
    o["updated_at"] = rfc3339(row.updated_at);
    o["last_message_id"] = row.last_message_id;
    return o;
}

json::object list_json(json::array data, const std::optional<std::string>& next_cursor) {
    json::object o;
    o["data"] = std::move(data);
    o["next_cursor"] = next_cursor ? json::value(*next_cursor) : json::value(nullptr);
    return o;
}

namespace {

bool is_tchar(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// RFC 5987 attr-char: ALPHA / DIGIT / "!" / "#" / "$" / "&" / "+" / "-" / "." / "^" / "_" /
// "`" / "|" / "~".
bool is_attr_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("!#$&+-.^_`|~").find(c) != std::string_view::npos;
}

}  // namespace

std::string content_disposition(std::string_view filename) {
    if (filename.empty()) return "attachment";
    std::string clean = utf8_clean(filename);
    std::string ascii, encoded;
    static constexpr char kHex[] = "0123456789ABCDEF";
    for (char ch : clean) {
        auto c = static_cast<unsigned char>(ch);
        // The quoted fallback: printable ASCII without quote, backslash or path separators.
        if (c >= 0x20 && c < 0x7F && ch != '"' && ch != '\\' && ch != '/')
            ascii += ch;
        else if (c >= 0x80 && (c & 0xC0) != 0x80)
            ascii += '_';  // one '_' per non-ASCII character, not per byte
        else if (c < 0x80)
            ascii += '_';
        if (is_attr_char(ch)) {
            encoded += ch;
        } else {
            encoded += '%';
            encoded += kHex[c >> 4];
            encoded += kHex[c & 0xF];
        }
    }
    return "attachment; filename=\"" + ascii + "\"; filename*=UTF-8''" + encoded;
}

std::string safe_media_type(std::string_view ct, std::string_view charset) {
    auto slash = ct.find('/');
    auto token = [](std::string_view t) {
        if (t.empty() || t.size() > 127) return false;
        for (char c : t)
            if (!is_tchar(c)) return false;
        return true;
    };
    if (slash == std::string_view::npos || !token(ct.substr(0, slash)) ||
        !token(ct.substr(slash + 1)))
        return "application/octet-stream";
    std::string out(ct);
    if (out.starts_with("text/") && token(charset)) out.append("; charset=").append(charset);
    return out;
}

}  // namespace postern::api
