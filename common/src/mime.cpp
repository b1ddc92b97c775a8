#include "common/mime.hpp"

#include <gmime/gmime.h>

#include <algorithm>
#include <climits>
#include <memory>
#include <mutex>

#include "gobj.hpp"
#include "mime_text.hpp"

namespace postern::mime {
namespace {

using detail::to_utf8;
using detail::Utf8Fixer;

constexpr std::size_t kSnippetChars = 200;
// The snippet reads text parts this many bytes at a time: 200 characters are usually in the
// first KiB, and a 4 KiB body read whole took a tenth of summarize() (docs/performance.md).
constexpr std::size_t kSnippetReadBytes = 1024;
// How much decoded HTML an HTML-only snippet looks at: enough to get past a <style> block.
constexpr std::size_t kHtmlSnippetBytes = 64 * 1024;
// GMime reads through a GByteArray, whose length is a guint.
constexpr std::size_t kMaxRaw = UINT_MAX - 1;
// Deeper multipart nesting is ignored rather than recursed into.
constexpr int kMaxDepth = 64;

using postern::detail::GObj;

struct ReferencesFree {
    void operator()(GMimeReferences* r) const { g_mime_references_free(r); }
};

// Written once under init()'s call_once, then only read: GMime does not modify options.
GMimeParserOptions* g_options = nullptr;
GMimeFormatOptions* g_format = nullptr;

std::string str(const char* s) { return s != nullptr ? to_utf8(s) : std::string(); }

// One GMime parse of a raw message. GMime reads `raw` in place through a GByteArray that borrows
// it (the memory stream does not own it), and with the parser's default persist-stream mode the
// parts' content streams are substreams of that same buffer: `raw` must outlive this object.
class Loaded {
 public:
    explicit Loaded(std::string_view raw) {
        if (auto merged = detail::merge_split_b_words(raw)) {  // a copy, for a GMime bug
            copy_ = std::move(*merged);
            raw = copy_;
        }
        message_ = parse_buffer(raw);
        if (!message_) {
            // GMime finds no message when the first line is not a header. Read the input as a
            // body without headers instead, which needs a copy (rare).
            std::string body;
            body.reserve(raw.size() + 1);
            body += '\n';
            body += raw;
            copy_ = std::move(body);
            message_ = parse_buffer(copy_);
        }
    }
    Loaded(const Loaded&) = delete;
    Loaded& operator=(const Loaded&) = delete;

    GMimeMessage* message() const { return message_.get(); }

 private:
    GObj<GMimeMessage> parse_buffer(std::string_view data) {
        // The stream only reads: the cast away from const never leads to a write.
        borrowed_.data = reinterpret_cast<guint8*>(const_cast<char*>(data.data()));
        borrowed_.len = static_cast<guint>(data.size());
        GObj<GMimeStream> stream(g_mime_stream_mem_new_with_byte_array(&borrowed_));
        g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(stream.get()), FALSE);
        GObj<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
        return GObj<GMimeMessage>(g_mime_parser_construct_message(parser.get(), g_options));
    }

    GByteArray borrowed_{};
    std::string copy_;
    GObj<GMimeMessage> message_;  // last: released before the buffers it reads
};

// The leaves of a message, classified once. Bodies are the text/plain and text/html leaves
// without "Content-Disposition: attachment"; every other leaf is an attachment: any part marked
// attachment, non-text parts (inline images too), other text/* types such as text/calendar,
// and message/rfc822 parts (not descended into). The signature of multipart/signed is neither.
struct Leaves {
    std::vector<GMimePart*> text;
    std::vector<GMimePart*> html;
    std::vector<GMimeObject*> attachments;  // GMimePart or GMimeMessagePart
    std::vector<GObj<GMimePart>> made;      // parts made by the walk (see text_of_partless)
};

// A text/plain part holding what a multipart without parts carries: GMime keeps the body of a
// multipart whose boundary is missing (or never appears) as its prologue, and there is nothing
// else to show. Mail clients show it as text; the multipart's charset and encoding are kept.
// Null when there is no text in it.
GObj<GMimePart> text_of_partless(GMimeObject* multipart) {
    const char* prologue = g_mime_multipart_get_prologue(GMIME_MULTIPART(multipart));
    if (prologue == nullptr) return nullptr;
    std::string_view text(prologue);
    if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) return nullptr;
    GObj<GMimePart> part(g_mime_part_new_with_type("text", "plain"));
    if (const char* charset = g_mime_object_get_content_type_parameter(multipart, "charset"))
        g_mime_object_set_content_type_parameter(GMIME_OBJECT(part.get()), "charset", charset);
    const char* cte = g_mime_object_get_header(multipart, "Content-Transfer-Encoding");
    GObj<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(text.data(), text.size()));
    GObj<GMimeDataWrapper> content(g_mime_data_wrapper_new_with_stream(
        stream.get(), cte != nullptr ? g_mime_content_encoding_from_string(cte)
                                     : GMIME_CONTENT_ENCODING_DEFAULT));
    g_mime_part_set_content(part.get(), content.get());
    return part;
}

bool disposition_is(GMimeObject* obj, const char* value) {
    const char* d = g_mime_object_get_disposition(obj);
    return d != nullptr && g_ascii_strcasecmp(d, value) == 0;
}

void collect(GMimeObject* obj, Leaves& out, int depth) {
    if (obj == nullptr) return;
    if (depth > kMaxDepth) {  // deeper than we walk: one attachment, so that nothing vanishes
        out.attachments.push_back(obj);
        return;
    }
    if (GMIME_IS_MULTIPART(obj)) {
        auto* multipart = GMIME_MULTIPART(obj);
        int count = g_mime_multipart_get_count(multipart);
        if (GMIME_IS_MULTIPART_SIGNED(obj)) count = std::min(count, 1);  // skip the signature
        if (count == 0) {
            if (auto text = text_of_partless(obj)) {
                out.text.push_back(text.get());
                out.made.push_back(std::move(text));
            }
            return;
        }
        for (int i = 0; i < count; ++i)
            collect(g_mime_multipart_get_part(multipart, i), out, depth + 1);
        return;
    }
    if (GMIME_IS_MESSAGE_PART(obj)) {
        out.attachments.push_back(obj);
        return;
    }
    if (!GMIME_IS_PART(obj)) return;
    GMimeContentType* type = g_mime_object_get_content_type(obj);
    if (type != nullptr && !disposition_is(obj, "attachment")) {
        if (g_mime_content_type_is_type(type, "text", "plain")) {
            out.text.push_back(GMIME_PART(obj));
            return;
        }
        if (g_mime_content_type_is_type(type, "text", "html")) {
            out.html.push_back(GMIME_PART(obj));
            return;
        }
    }
    out.attachments.push_back(obj);
}

Leaves leaves_of(GMimeMessage* message) {
    Leaves leaves;
    collect(g_mime_message_get_mime_part(message), leaves, 0);
    return leaves;
}

// A converter from the part's declared charset to UTF-8, or null when Utf8Fixer alone is right:
// no charset, UTF-8, US-ASCII (8-bit bytes under these labels are usually UTF-8 or
// windows-1252, which the fixer handles), or a charset iconv does not know.
GObj<GMimeFilter> charset_filter(GMimeObject* part) {
    const char* declared = g_mime_object_get_content_type_parameter(part, "charset");
    if (declared == nullptr || *declared == '\0') return nullptr;
    const char* canon = g_mime_charset_canon_name(declared);
    for (const char* plain : {"utf-8", "us-ascii", "ascii", "ansi_x3.4-1968"})
        if (g_ascii_strcasecmp(canon, plain) == 0) return nullptr;
    // As browsers do (WHATWG Encoding): text labelled Latin-1 is windows-1252 in practice.
    if (g_ascii_strcasecmp(canon, "iso-8859-1") == 0 || g_ascii_strcasecmp(canon, "latin1") == 0)
        canon = "windows-1252";
    return GObj<GMimeFilter>(g_mime_filter_charset_new(canon, "UTF-8"));
}

// Streams the part's content with its Content-Transfer-Encoding undone (and, with `as_text`,
// converted to UTF-8 from its charset, line ends made LF) to `sink` in chunks, until the sink
// returns false. A CR that the CRLF-to-LF filter leaves (it holds each CR back until it sees the
// next byte, across chunks) is a line end of its own, as old Mac text has them: SMTP refuses bare
// CRs in DATA, but quoted-printable (=0D) and base64 carry them through, and a client shown the
// text would otherwise draw it back over its own line. Base64 is decoded with GLib rather than
// GMime: GMime 3.2.13 (Debian bookworm) stops at the first '=', dropping the rest of "chunked"
// base64 such as a list footer appended to a body (gmime issue #150), so this loop reads the
// content stream itself and drives GMime's filters. `chunk` bytes are read at a time (at most 8
// KiB): a reader that stops early, as the snippet does after 200 characters, asks for less so that
// the filters do not run over the whole part.
template <class Sink>
void read_content(GMimePart* part, bool as_text, Sink&& sink, std::size_t chunk = 8192) {
    GMimeDataWrapper* content = g_mime_part_get_content(part);
    GMimeStream* source = content != nullptr ? g_mime_data_wrapper_get_stream(content) : nullptr;
    if (source == nullptr) return;
    GMimeContentEncoding encoding = g_mime_data_wrapper_get_encoding(content);
    const bool base64 = encoding == GMIME_CONTENT_ENCODING_BASE64;
    std::vector<GObj<GMimeFilter>> filters;
    if (encoding == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE ||
        encoding == GMIME_CONTENT_ENCODING_UUENCODE)
        filters.emplace_back(g_mime_filter_basic_new(encoding, FALSE));
    if (as_text) {
        if (auto convert = charset_filter(GMIME_OBJECT(part)))
            filters.push_back(std::move(convert));
        filters.emplace_back(g_mime_filter_dos2unix_new(FALSE));  // bodies are served with LF
    }
    // Runs `data` through the filters into the sink; false once the sink wants no more.
    auto pass = [&](char* data, std::size_t len, bool last) {
        std::size_t prespace = 0;
        for (auto& filter : filters) {
            char* out = nullptr;
            std::size_t out_len = 0, out_prespace = 0;
            if (last) {
                g_mime_filter_complete(filter.get(), data, len, prespace, &out, &out_len,
                                       &out_prespace);
            } else {
                g_mime_filter_filter(filter.get(), data, len, prespace, &out, &out_len,
                                     &out_prespace);
            }
            data = out, len = out_len, prespace = out_prespace;
        }
        if (as_text) std::replace(data, data + len, '\r', '\n');  // the filter's own buffer
        return len == 0 || sink(std::string_view(data, len));
    };
    char buf[8192];
    std::string decoded;
    gint b64_state = 0;
    guint b64_save = 0;
    g_mime_stream_reset(source);
    for (;;) {
        ssize_t n = g_mime_stream_read(source, buf, std::min(chunk, sizeof buf));
        if (n <= 0) break;
        char* data = buf;
        auto len = static_cast<std::size_t>(n);
        if (base64) {
            decoded.resize(len / 4 * 3 + 3);
            len = g_base64_decode_step(buf, len, reinterpret_cast<guchar*>(decoded.data()),
                                       &b64_state, &b64_save);
            data = decoded.data();
        }
        if (!pass(data, len, false)) return;
    }
    // Unpadded base64 leaves 2 or 3 characters pending (its sign marks a seen '='): pad them out.
    char tail[3];
    std::size_t tail_len = 0;
    if (int pending = b64_state < 0 ? -b64_state : b64_state; base64 && pending >= 2)
        tail_len = g_base64_decode_step("==", static_cast<gsize>(4 - pending),
                                        reinterpret_cast<guchar*>(tail), &b64_state, &b64_save);
    pass(tail, tail_len, true);
}

// The part's text as valid UTF-8, stopping once `out` holds at least `limit` bytes. What it
// appends is always a prefix of the whole text.
void append_text(GMimePart* part, std::string& out, std::size_t limit = SIZE_MAX) {
    Utf8Fixer fixer;
    bool whole = true;
    read_content(part, true, [&](std::string_view chunk) {
        fixer.put(chunk, out);
        return whole = out.size() < limit;
    });
    if (whole) fixer.finish(out);
}

// Bodies joined the same way by parse() and (for the snippet) summarize(): empty parts skipped,
// `separator` between the others.
std::string join_bodies(const std::vector<GMimePart*>& parts, std::string_view separator,
                        std::size_t limit = SIZE_MAX) {
    std::string joined;
    for (GMimePart* part : parts) {
        if (joined.size() >= limit) break;
        std::string text;
        append_text(part, text, limit - joined.size());
        if (text.empty()) continue;
        if (!joined.empty()) joined += separator;
        joined += text;
    }
    return joined;
}

std::string html_snippet(std::string_view html) {
    detail::SnippetBuilder snippet(kSnippetChars);
    snippet.feed(detail::html_to_text(detail::utf8_prefix(html, kHtmlSnippetBytes)));
    return snippet.take();
}

// The snippet straight from the parts, decoding only as much text as it needs.
std::string snippet_of(const Leaves& leaves) {
    detail::SnippetBuilder snippet(kSnippetChars);
    std::string chunk_utf8;
    for (GMimePart* part : leaves.text) {
        if (snippet.full()) break;
        snippet.feed("\n\n");  // the blank line parse() joins parts with; collapses to a space
        Utf8Fixer fixer;
        read_content(
            part, true,
            [&](std::string_view chunk) {
                chunk_utf8.clear();
                fixer.put(chunk, chunk_utf8);
                snippet.feed(chunk_utf8);
                return !snippet.full();
            },
            kSnippetReadBytes);
        chunk_utf8.clear();
        fixer.finish(chunk_utf8);
        snippet.feed(chunk_utf8);
    }
    if (!snippet.text().empty() || leaves.html.empty()) return snippet.take();
    return html_snippet(join_bodies(leaves.html, "\n", kHtmlSnippetBytes));
}

std::vector<std::string> msg_ids(GMimeMessage* message, const char* header) {
    const char* value = g_mime_object_get_header(GMIME_OBJECT(message), header);
    if (value == nullptr) return {};
    std::vector<std::string> ids;
    std::unique_ptr<GMimeReferences, ReferencesFree> refs(
        g_mime_references_parse(g_options, value));
    int count = refs ? g_mime_references_length(refs.get()) : 0;
    for (int i = 0; i < count; ++i)
        ids.push_back(str(g_mime_references_get_message_id(refs.get(), i)));
    // GMime stops at the first id it cannot read ("<a@b> <broken> <c@d>" gives a@b alone) and
    // rejects a whole value over one stray word: the bracketed ids, when they are more, win.
    if (auto loose = detail::loose_msg_ids(value); loose.size() > ids.size()) {
        ids.clear();
        for (auto& id : loose) ids.push_back(to_utf8(id));
    }
    return ids;
}

void add_mailboxes(InternetAddressList* list, std::vector<Mailbox>& out, int depth = 0) {
    int count = list != nullptr ? internet_address_list_length(list) : 0;
    for (int i = 0; i < count; ++i) {
        InternetAddress* address = internet_address_list_get_address(list, i);
        if (INTERNET_ADDRESS_IS_MAILBOX(address)) {
            out.push_back(
                Mailbox{str(internet_address_get_name(address)),
                        str(internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(address)))});
        } else if (INTERNET_ADDRESS_IS_GROUP(address) && depth == 0) {  // groups do not nest
            add_mailboxes(internet_address_group_get_members(INTERNET_ADDRESS_GROUP(address)), out,
                          depth + 1);
        }
    }
}

// RFC 5322 §3.3 allows second 60 (a leap second), which GLib's dates cannot hold, so GMime
// gives no date at all: read it as second 59 of the same minute instead.
std::optional<std::int64_t> leap_second_date(GMimeMessage* message) {
    const char* raw = g_mime_object_get_header(GMIME_OBJECT(message), "Date");
    if (raw == nullptr) return std::nullopt;
    std::string text(raw);
    auto digit = [&](std::size_t i) { return i < text.size() && text[i] >= '0' && text[i] <= '9'; };
    // The time of day, " hh:mm:60", followed by something other than a digit.
    for (std::size_t i = text.find(":60"); i != std::string::npos; i = text.find(":60", i + 1)) {
        if (i < 6 || !digit(i - 1) || !digit(i - 2) || text[i - 3] != ':' || !digit(i - 4) ||
            !digit(i - 5) || (text[i - 6] != ' ' && text[i - 6] != '\t') || digit(i + 3))
            continue;
        text.replace(i, 3, ":59");
        GDateTime* date = g_mime_utils_header_decode_date(text.c_str());
        if (date == nullptr) return std::nullopt;
        auto ms = static_cast<std::int64_t>(g_date_time_to_unix(date)) * 1000;
        g_date_time_unref(date);
        return ms;
    }
    return std::nullopt;
}

Summary header_summary(GMimeMessage* message) {
    Summary s;
    s.message_id = str(g_mime_message_get_message_id(message));
    if (auto ids = msg_ids(message, "In-Reply-To"); !ids.empty()) s.in_reply_to = ids.front();
    s.references = msg_ids(message, "References");
    add_mailboxes(g_mime_message_get_from(message), s.from);
    add_mailboxes(g_mime_message_get_to(message), s.to);
    add_mailboxes(g_mime_message_get_cc(message), s.cc);
    add_mailboxes(g_mime_message_get_reply_to(message), s.reply_to);
    s.subject = str(g_mime_message_get_subject(message));
    if (GDateTime* date = g_mime_message_get_date(message))  // owned by the message
        s.date_ms = static_cast<std::int64_t>(g_date_time_to_unix(date)) * 1000;
    else
        s.date_ms = leap_second_date(message);
    return s;
}

// The message's headers in the order written: GMime keeps Content-* headers on the top-level
// part and the rest on the message, each with its offset in the input.
std::vector<Header> all_headers(GMimeMessage* message) {
    std::vector<GMimeHeader*> found;
    for (GMimeObject* obj : {GMIME_OBJECT(message), g_mime_message_get_mime_part(message)}) {
        GMimeHeaderList* list = obj != nullptr ? g_mime_object_get_header_list(obj) : nullptr;
        int count = list != nullptr ? g_mime_header_list_get_count(list) : 0;
        for (int i = 0; i < count; ++i) found.push_back(g_mime_header_list_get_header_at(list, i));
    }
    std::stable_sort(found.begin(), found.end(), [](GMimeHeader* a, GMimeHeader* b) {
        return g_mime_header_get_offset(a) < g_mime_header_get_offset(b);
    });
    std::vector<Header> headers;
    headers.reserve(found.size());
    for (GMimeHeader* h : found)
        headers.push_back(Header{str(g_mime_header_get_name(h)), str(g_mime_header_get_value(h))});
    return headers;
}

// The bytes of an attachment: the decoded content of a part, the embedded message written out
// again, or a multipart nested too deep written out whole with its header fields (GMime
// re-serializes from the parsed form, with CRLF line ends).
std::string attachment_bytes(GMimeObject* obj) {
    std::string data;
    if (GMIME_IS_PART(obj)) {
        read_content(GMIME_PART(obj), false, [&](std::string_view chunk) {
            data.append(chunk);
            return true;
        });
        return data;
    }
    GMimeObject* written = obj;
    if (GMIME_IS_MESSAGE_PART(obj))
        written = GMIME_OBJECT(g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj)));
    if (written == nullptr) return data;
    GObj<GMimeStream> out(g_mime_stream_mem_new());
    g_mime_object_write_to_stream(written, g_format, out.get());
    GByteArray* bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(out.get()));
    data.assign(reinterpret_cast<const char*>(bytes->data), bytes->len);
    return data;
}

std::size_t attachment_size(GMimeObject* obj) {
    if (!GMIME_IS_PART(obj)) return attachment_bytes(obj).size();
    std::size_t size = 0;
    read_content(GMIME_PART(obj), false, [&](std::string_view chunk) {
        size += chunk.size();
        return true;
    });
    return size;
}

Attachment describe(GMimeObject* obj, std::size_t index) {
    Attachment a;
    a.index = index;
    // g_mime_part_get_filename reads the disposition's filename, then the type's name; GMime
    // has already undone RFC 2231 and RFC 2047 in both. Message parts are not GMimeParts.
    const char* filename = GMIME_IS_PART(obj) ? g_mime_part_get_filename(GMIME_PART(obj)) : nullptr;
    if (filename == nullptr)
        filename = g_mime_object_get_content_disposition_parameter(obj, "filename");
    if (filename == nullptr) filename = g_mime_object_get_content_type_parameter(obj, "name");
    a.filename = str(filename);
    if (GMimeContentType* type = g_mime_object_get_content_type(obj)) {
        std::unique_ptr<char, decltype(&g_free)> mime_type(g_mime_content_type_get_mime_type(type),
                                                           &g_free);
        a.content_type = str(mime_type.get());
        for (char& c : a.content_type) c = g_ascii_tolower(c);
        a.charset = str(g_mime_object_get_content_type_parameter(obj, "charset"));
        for (char& c : a.charset) c = g_ascii_tolower(c);
    }
    a.content_id = str(g_mime_object_get_content_id(obj));
    a.inline_disposition = disposition_is(obj, "inline");
    return a;
}

}  // namespace

void init() {
    static std::once_flag once;
    std::call_once(once, [] {
        g_mime_init();
        g_options = g_mime_parser_options_new();
        g_mime_parser_options_set_rfc2047_compliance_mode(g_options, GMIME_RFC_COMPLIANCE_LOOSE);
        g_mime_parser_options_set_address_compliance_mode(g_options, GMIME_RFC_COMPLIANCE_LOOSE);
        g_mime_parser_options_set_parameter_compliance_mode(g_options, GMIME_RFC_COMPLIANCE_LOOSE);
        g_mime_parser_options_set_allow_addresses_without_domain(g_options, TRUE);
        // Raw 8-bit header text: UTF-8 if it is, else windows-1252.
        const char* fallback[] = {"utf-8", "windows-1252", nullptr};
        g_mime_parser_options_set_fallback_charsets(g_options, fallback);
        g_format = g_mime_format_options_new();
        g_mime_format_options_set_newline_format(g_format, GMIME_NEWLINE_FORMAT_DOS);
    });
}

Result<Summary> summarize(std::string_view raw) {
    if (raw.size() > kMaxRaw) return fail(Errc::limit, "message too large to parse");
    init();
    Loaded loaded(raw);
    GMimeMessage* message = loaded.message();
    if (message == nullptr) return fail(Errc::invalid_argument, "not a MIME message");
    Summary s = header_summary(message);
    Leaves leaves = leaves_of(message);
    s.has_attachments = !leaves.attachments.empty();
    s.snippet = snippet_of(leaves);
    return s;
}

std::vector<std::string> addresses_in(std::string_view value) {
    std::vector<std::string> out;
    std::string message = "To:";
    message.append(value);
    message += "\r\n\r\n";
    if (auto s = summarize(message))
        for (const auto& m : s->to)
            if (!m.address.empty()) out.push_back(m.address);
    return out;
}

Result<Parsed> parse(std::string_view raw) {
    if (raw.size() > kMaxRaw) return fail(Errc::limit, "message too large to parse");
    init();
    Loaded loaded(raw);
    GMimeMessage* message = loaded.message();
    if (message == nullptr) return fail(Errc::invalid_argument, "not a MIME message");
    Parsed p;
    p.summary = header_summary(message);
    p.headers = all_headers(message);
    Leaves leaves = leaves_of(message);
    p.text = join_bodies(leaves.text, "\n\n");
    p.html = join_bodies(leaves.html, "\n");
    for (std::size_t i = 0; i < leaves.attachments.size(); ++i) {
        p.attachments.push_back(describe(leaves.attachments[i], i));
        p.attachments.back().size = attachment_size(leaves.attachments[i]);
    }
    p.summary.has_attachments = !p.attachments.empty();
    detail::SnippetBuilder snippet(kSnippetChars);
    snippet.feed(p.text);
    p.summary.snippet = snippet.text().empty() ? html_snippet(p.html) : snippet.take();
    return p;
}

Result<AttachmentContent> attachment(std::string_view raw, std::size_t index) {
    if (raw.size() > kMaxRaw) return fail(Errc::limit, "message too large to parse");
    init();
    Loaded loaded(raw);
    GMimeMessage* message = loaded.message();
    if (message == nullptr) return fail(Errc::invalid_argument, "not a MIME message");
    Leaves leaves = leaves_of(message);
    if (index >= leaves.attachments.size()) return fail(Errc::not_found, "no such attachment");
    AttachmentContent content;
    content.meta = describe(leaves.attachments[index], index);
    content.data = attachment_bytes(leaves.attachments[index]);
    content.meta.size = content.data.size();
    return content;
}

std::string normalize_subject(std::string_view subject) {
    return detail::normalize_subject(subject);
}

}  // namespace postern::mime
