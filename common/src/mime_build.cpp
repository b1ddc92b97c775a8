// build_message: outgoing MIME with GMime 3. GMime does the encodings (RFC 2047 words for the
// subject and display names, RFC 2231 filenames, quoted-printable / base64 bodies, folding), so
// nothing here writes header syntax by hand.
#include <gmime/gmime.h>

#include <algorithm>
#include <memory>

#include "common/address.hpp"
#include "common/ascii.hpp"
#include "common/crypto.hpp"
#include "common/header_fields.hpp"
#include "common/mime.hpp"
#include "gobj.hpp"

namespace postern::mime {
namespace {

using postern::detail::GObj;

struct FormatFree {
    void operator()(GMimeFormatOptions* f) const { g_mime_format_options_free(f); }
};
struct DateUnref {
    void operator()(GDateTime* d) const { g_date_time_unref(d); }
};

// RFC 5322 §3.6.8 field-name: printable ASCII except ':'.
bool valid_field_name(std::string_view name) {
    if (name.empty() || name.size() > 76) return false;
    return std::all_of(name.begin(), name.end(),
                       [](char c) { return c > 32 && c < 127 && c != ':'; });
}

bool valid_field_value(std::string_view value) {
    return value.size() <= 4000 && value.find_first_of("\r\n") == std::string_view::npos &&
           value.find('\0') == std::string_view::npos;
}

// RFC 2045 §5.1 token: printable ASCII but space and tspecials.
bool is_token(std::string_view t) {
    if (t.empty() || t.size() > 127) return false;
    return std::all_of(t.begin(), t.end(), [](char c) {
        return c > 32 && c < 127 &&
               std::string_view("()<>@,;:\\\"/[]?=").find(c) == std::string_view::npos;
    });
}

// The parameter section of a media type (after the first ';') cut at each ';' outside a quoted
// string, so that every piece can be checked to be "name=value": GMime's own parser drops a
// piece it cannot read rather than failing.
std::vector<std::string_view> parameter_pieces(std::string_view text) {
    std::vector<std::string_view> pieces;
    bool quoted = false;
    std::size_t start = 0;
    for (std::size_t i = 0; i <= text.size(); ++i) {
        if (i < text.size() && quoted && text[i] == '\\') {
            ++i;
        } else if (i < text.size() && text[i] == '"') {
            quoted = !quoted;
        } else if (i == text.size() || (!quoted && text[i] == ';')) {
            pieces.push_back(trim_wsp(text.substr(start, i - start)));
            start = i + 1;
        }
    }
    return pieces;
}

void add_mailboxes(GMimeMessage* msg, GMimeAddressType kind, const std::vector<Mailbox>& list) {
    for (const auto& m : list)
        g_mime_message_add_mailbox(msg, kind, m.name.empty() ? nullptr : m.name.c_str(),
                                   m.address.c_str());
}

GMimeObject* text_part(const char* subtype, const std::string& text) {
    GMimeTextPart* part = g_mime_text_part_new_with_subtype(subtype);
    g_mime_text_part_set_text(part, text.c_str());  // sets charset us-ascii or utf-8
    g_mime_part_set_content_encoding(
        GMIME_PART(part),
        g_mime_part_get_best_content_encoding(GMIME_PART(part), GMIME_ENCODING_CONSTRAINT_7BIT));
    return GMIME_OBJECT(part);
}

// Why `data` cannot go out as it is (RFC 5322 §2.1.1, §2.3: CRLF line ends only, no NUL, no
// line over 998 octets), the first such fault found.
enum class WireFault { none, bare_line_end_or_nul, long_line };

WireFault wire_fault(std::string_view data) {
    std::size_t line = 0;
    for (std::size_t i = 0; i < data.size(); ++i) {
        const char c = data[i];
        if (c == '\r' && i + 1 < data.size() && data[i + 1] == '\n') {
            ++i;
            line = 0;
            continue;
        }
        if (c == '\r' || c == '\n' || c == '\0') return WireFault::bare_line_end_or_nul;
        if (++line > 998) return WireFault::long_line;
    }
    return WireFault::none;
}

// Text whose line ends are CRLF already (crlf_lines, or GMime's DOS newlines) needs encoding for
// a NUL or a long line, the only faults it can have.
bool needs_encoding(std::string_view data) { return wire_fault(data) != WireFault::none; }

// An attachment as a base64-encoded leaf part of `type`/`subtype`.
GMimeObject* base64_part(const std::string& type, const std::string& subtype, std::string_view data,
                         const std::string& filename) {
    GMimePart* part = g_mime_part_new_with_type(type.c_str(), subtype.c_str());
    GObj<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(data.data(), data.size()));
    GObj<GMimeDataWrapper> content(
        g_mime_data_wrapper_new_with_stream(stream.get(), GMIME_CONTENT_ENCODING_DEFAULT));
    g_mime_part_set_content(part, content.get());
    g_mime_part_set_content_encoding(part, GMIME_CONTENT_ENCODING_BASE64);
    g_mime_object_set_disposition(GMIME_OBJECT(part), "attachment");
    if (!filename.empty()) g_mime_part_set_filename(part, filename.c_str());
    return GMIME_OBJECT(part);
}

// `data` (CRLF line ends) parsed as a message; null when GMime finds none.
GObj<GMimeMessage> parse_crlf_message(const std::string& data) {
    GObj<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(data.data(), data.size()));
    GObj<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
    return GObj<GMimeMessage>(g_mime_parser_construct_message(parser.get(), nullptr));
}

// Re-encodes every leaf under `object` that is not 7-bit safe, inside embedded messages too
// (g_mime_object_encode stops at a message/rfc822 part): an embedded message gets a
// MIME-Version if it had none, and its part, which may only be 7bit, 8bit or binary (RFC 2046
// §5.2.1), is declared 7bit if it declared anything.
void encode_7bit(GMimeObject* object) {
    // Signed or encrypted content is left as it is: re-encoding it would break the signature
    // (RFC 1847 §2.1 has the signer make it 7-bit), so what 8-bit it has keeps the message from
    // being converted.
    if (GMIME_IS_MULTIPART_SIGNED(object) || GMIME_IS_MULTIPART_ENCRYPTED(object)) return;
    if (GMIME_IS_MESSAGE_PART(object)) {
        GMimeMessage* inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(object));
        if (inner == nullptr) return;
        GMimeObject* body = g_mime_message_get_mime_part(inner);
        if (body != nullptr) encode_7bit(body);
        if (g_mime_object_get_header(GMIME_OBJECT(inner), "MIME-Version") == nullptr)
            g_mime_object_set_header(GMIME_OBJECT(inner), "MIME-Version", "1.0", nullptr);
        if (g_mime_object_get_header(object, "Content-Transfer-Encoding") != nullptr)
            g_mime_object_set_header(object, "Content-Transfer-Encoding", "7bit", nullptr);
    } else if (GMIME_IS_MULTIPART(object)) {
        GMimeMultipart* multipart = GMIME_MULTIPART(object);
        for (int i = 0; i < g_mime_multipart_get_count(multipart); ++i)
            encode_7bit(g_mime_multipart_get_part(multipart, i));
    } else {
        g_mime_object_encode(object, GMIME_ENCODING_CONSTRAINT_7BIT);
    }
}

// `object` as GMime writes it with CRLF line ends, every octet (a NUL included); nullopt if
// GMime could not write it.
std::optional<std::string> written_crlf(GMimeObject* object) {
    std::unique_ptr<GMimeFormatOptions, FormatFree> format(g_mime_format_options_new());
    g_mime_format_options_set_newline_format(format.get(), GMIME_NEWLINE_FORMAT_DOS);
    GObj<GMimeStream> stream(g_mime_stream_mem_new());
    if (g_mime_object_write_to_stream(object, format.get(), stream.get()) < 0) return std::nullopt;
    GByteArray* bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(stream.get()));
    return std::string(reinterpret_cast<const char*>(bytes->data), bytes->len);
}

// `message` with every part that is not 7-bit safe re-encoded (quoted-printable or base64, as
// GMime finds best) and MIME-Version added if it had none, as written_crlf writes it.
std::optional<std::string> reencoded_7bit(GMimeMessage* message) {
    GMimeObject* object = GMIME_OBJECT(message);
    if (GMimeObject* body = g_mime_message_get_mime_part(message)) encode_7bit(body);
    if (g_mime_object_get_header(object, "MIME-Version") == nullptr)
        g_mime_object_set_header(object, "MIME-Version", "1.0", nullptr);
    return written_crlf(object);
}

// The message/rfc822 attachment: parsed, so that GMime writes it as an embedded message. RFC 2046
// §5.2.1 forbids base64 for the message/rfc822 part itself, so its lines go out as they are, with
// their ends made CRLF here: byte for byte, signatures intact. A message that could not go out
// that way (a line over 998 octets, a NUL) has its parts re-encoded (quoted-printable or base64,
// as GMime finds best). GMime leaves alone what it takes for safe already (base64 or
// quoted-printable parts, a part declared 7bit), so what it writes is checked again; when that
// still cannot go out, the message is attached as application/octet-stream (base64) instead.
GMimeObject* message_part(const OutgoingAttachment& a) {
    const std::string data = crlf_lines(a.data);
    GObj<GMimeMessage> inner = parse_crlf_message(data);
    if (!inner) return nullptr;
    if (needs_encoding(data)) {
        auto written = reencoded_7bit(inner.get());
        if (!written || needs_encoding(*written))
            return base64_part("application", "octet-stream", a.data,
                               a.filename.empty() ? "message.eml" : a.filename);
    }
    GMimeMessagePart* part = g_mime_message_part_new_with_message("rfc822", inner.get());
    g_mime_object_set_disposition(GMIME_OBJECT(part), "attachment");
    if (!a.filename.empty())
        g_mime_object_set_content_disposition_parameter(GMIME_OBJECT(part), "filename",
                                                        a.filename.c_str());
    return GMIME_OBJECT(part);
}

Result<GMimeObject*> attachment_part(const OutgoingAttachment& a) {
    auto media = parse_media_type(a.content_type);
    if (!media)
        return fail(Errc::invalid_argument, "content_type must be type/subtype[; name=value]");
    if (iequals_ascii(media->type, "message") && iequals_ascii(media->subtype, "rfc822")) {
        GMimeObject* part = message_part(a);
        if (part == nullptr) return fail(Errc::invalid_argument, "not a message");
        return part;
    }
    GMimeObject* part = base64_part(media->type, media->subtype, a.data, a.filename);
    for (const auto& [name, value] : media->parameters) {
        // The file's name is the filename field's (set above, with the matching "name").
        if (!a.filename.empty() && iequals_ascii(name, "name")) continue;
        g_mime_object_set_content_type_parameter(part, name.c_str(), value.c_str());
    }
    return part;
}

std::string new_message_id(const std::string& hostname) {
    std::string host = hostname.empty() ? "localhost" : hostname;
    return base64url_encode(random_bytes(16)) + "@" + host;
}

std::string angle(const std::string& id) { return "<" + id + ">"; }

}  // namespace

bool is_attachable_message(std::string_view data) {
    init();
    return static_cast<bool>(parse_crlf_message(crlf_lines(data)));
}

std::optional<MediaType> parse_media_type(std::string_view text) {
    if (text.size() > 1000 || has_control(text) || !is_valid_utf8(text)) return std::nullopt;
    const auto semi = text.find(';');
    std::string_view essence = text.substr(0, semi);
    while (!essence.empty() && is_wsp(essence.back())) essence.remove_suffix(1);
    const auto slash = essence.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    MediaType m{std::string(essence.substr(0, slash)), std::string(essence.substr(slash + 1)), {}};
    if (!is_token(m.type) || !is_token(m.subtype)) return std::nullopt;
    if (semi == std::string_view::npos) return m;
    const std::string_view rest = text.substr(semi + 1);
    bool any = false;
    for (auto piece : parameter_pieces(rest)) {
        if (piece.empty()) continue;  // "text/plain;": a stray separator, common in the wild
        any = true;
        const auto eq = piece.find('=');
        const std::string_view name = trim_wsp(piece.substr(0, eq));
        if (eq == std::string_view::npos || eq + 1 == piece.size() || !is_token(name))
            return std::nullopt;
    }
    if (!any) return m;
    init();
    const std::string owned(rest);
    GObj<GMimeParamList> list(g_mime_param_list_parse(nullptr, owned.c_str()));
    const int count = list ? g_mime_param_list_length(list.get()) : 0;
    if (count == 0) return std::nullopt;
    for (int i = 0; i < count; ++i) {
        GMimeParam* p = g_mime_param_list_get_parameter_at(list.get(), i);
        const char* value = g_mime_param_get_value(p);
        m.parameters.emplace_back(g_mime_param_get_name(p), value ? value : "");
        // A value is decoded (RFC 2231 percent escapes): it may not decode to a line break.
        const std::string& v = m.parameters.back().second;
        if (has_control(v) || !is_valid_utf8(v)) return std::nullopt;
    }
    return m;
}

bool is_structural_header(std::string_view name) {
    static constexpr std::string_view kExact[] = {
        "From",
        "Sender",
        "To",
        "Cc",
        "Bcc",
        "Reply-To",
        "Subject",
        "Date",
        "Message-ID",
        "In-Reply-To",
        "References",
        "MIME-Version",
        "Return-Path",
        "Received",
        "DKIM-Signature",
        "Authentication-Results",
    };
    for (auto e : kExact)
        if (iequals_ascii(name, e)) return true;
    return istarts_with(name, "Content-") || istarts_with(name, "ARC-") ||
           istarts_with(name, "Resent-");
}

bool is_writable_msg_id(std::string_view id) {
    const auto at = id.rfind('@');
    return at != std::string_view::npos && at != 0 && at + 1 != id.size() && id.size() <= 998 &&
           !has_control(id) && id.find_first_of(" <>") == std::string_view::npos &&
           is_valid_utf8(id);
}

Result<Built> build_message(const Outgoing& m) {
    init();
    if (!m.in_reply_to.empty() && !is_writable_msg_id(m.in_reply_to))
        return fail(Errc::invalid_argument, "in_reply_to is not a msg-id");
    for (const auto& r : m.references)
        if (!is_writable_msg_id(r))
            return fail(Errc::invalid_argument, "a reference is not a msg-id");
    for (const auto& h : m.extra_headers) {
        if (!valid_field_name(h.name))
            return fail(Errc::invalid_argument, "header name '" + h.name + "' is not valid");
        if (is_structural_header(h.name))
            return fail(Errc::invalid_argument, "header '" + h.name + "' cannot be set");
        if (!valid_field_value(h.value))
            return fail(Errc::invalid_argument, "header '" + h.name + "' has an invalid value");
    }
    GObj<GMimeMessage> msg(g_mime_message_new(TRUE));
    add_mailboxes(msg.get(), GMIME_ADDRESS_TYPE_FROM, {m.from});
    add_mailboxes(msg.get(), GMIME_ADDRESS_TYPE_TO, m.to);
    add_mailboxes(msg.get(), GMIME_ADDRESS_TYPE_CC, m.cc);
    add_mailboxes(msg.get(), GMIME_ADDRESS_TYPE_REPLY_TO, m.reply_to);
    g_mime_message_set_subject(msg.get(), m.subject.c_str(), "utf-8");
    std::unique_ptr<GDateTime, DateUnref> date(g_date_time_new_from_unix_utc(m.date_ms / 1000));
    g_mime_message_set_date(msg.get(), date.get());
    Built out;
    out.message_id = new_message_id(m.hostname);
    g_mime_message_set_message_id(msg.get(), out.message_id.c_str());
    auto* obj = GMIME_OBJECT(msg.get());
    if (!m.in_reply_to.empty())
        g_mime_object_set_header(obj, "In-Reply-To", angle(m.in_reply_to).c_str(), nullptr);
    if (!m.references.empty()) {
        std::string refs;
        for (const auto& r : m.references) refs += (refs.empty() ? "" : " ") + angle(r);
        g_mime_object_set_header(obj, "References", refs.c_str(), nullptr);
    }
    for (const auto& h : m.extra_headers)
        g_mime_object_append_header(obj, h.name.c_str(), h.value.c_str(), "utf-8");

    // The body: text, html, or both as alternatives (plain first: RFC 2046 §5.1.4).
    GObj<GMimeObject> body;
    if (!m.text.empty() && !m.html.empty()) {
        GMimeMultipart* alt = g_mime_multipart_new_with_subtype("alternative");
        GObj<GMimeObject> t(text_part("plain", m.text)), h(text_part("html", m.html));
        g_mime_multipart_add(alt, t.get());
        g_mime_multipart_add(alt, h.get());
        body.reset(GMIME_OBJECT(alt));
    } else if (!m.html.empty()) {
        body.reset(text_part("html", m.html));
    } else {
        body.reset(text_part("plain", m.text));
    }
    if (!m.attachments.empty()) {
        GObj<GMimeObject> mixed(GMIME_OBJECT(g_mime_multipart_new_with_subtype("mixed")));
        g_mime_multipart_add(GMIME_MULTIPART(mixed.get()), body.get());
        for (const auto& a : m.attachments) {
            auto part = attachment_part(a);
            if (!part) return tl::unexpected(part.error());
            GObj<GMimeObject> owned(*part);
            g_mime_multipart_add(GMIME_MULTIPART(mixed.get()), owned.get());
        }
        body = std::move(mixed);
    }
    g_mime_message_set_mime_part(msg.get(), body.get());

    auto written = written_crlf(obj);
    if (!written) return fail(Errc::internal, "GMime could not write the message");
    out.raw = std::move(*written);
    // RFC 5322 §2.1.1 and §2.3: what goes out has CRLF line ends only, no NUL, and no line over
    // 998 octets. GMime folds what it can; a header value with no place to fold, or a line of a
    // message/rfc822 attachment (sent as it is), can still break this.
    switch (wire_fault(out.raw)) {
        case WireFault::bare_line_end_or_nul:
            return fail(Errc::invalid_argument,
                        "the message would contain a bare CR, LF or a NUL byte");
        case WireFault::long_line:
            return fail(Errc::invalid_argument,
                        "the message would have a line over 998 octets (a header value with "
                        "no space to fold at, or a long line in a message/rfc822 attachment)");
        case WireFault::none:
            break;
    }
    return out;
}

std::string crlf_lines(std::string_view in) {
    std::string out;
    out.reserve(in.size() + in.size() / 32);
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (in[i] == '\r') {
            std::size_t j = i;  // the run of CRs is in[i..j]
            while (j + 1 < in.size() && in[j + 1] == '\r') ++j;
            if (j + 1 < in.size() && in[j + 1] == '\n') {
                out += "\r\n";  // CR…CR LF: one line end
                i = j + 1;
            } else {
                for (std::size_t k = i; k <= j; ++k) out += "\r\n";  // each lone CR ends a line
                i = j;
            }
        } else if (in[i] == '\n') {
            out += "\r\n";
        } else {
            out += in[i];
        }
    }
    return out;
}

std::optional<std::string> seven_bit(const std::string& raw) {
    const std::size_t end = header_section_end(raw);
    if (end == std::string::npos || !is_ascii(std::string_view(raw).substr(0, end)))
        return std::nullopt;
    init();
    GObj<GMimeMessage> message = parse_crlf_message(raw);
    if (!message) return std::nullopt;
    auto out = reencoded_7bit(message.get());
    if (!out || !is_ascii(*out) || needs_encoding(*out)) return std::nullopt;  // a NUL too
    return out;
}

}  // namespace postern::mime
