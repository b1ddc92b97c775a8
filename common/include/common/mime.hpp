#pragma once
// Reading RFC 5322 / MIME messages with GMime 3: the summary stored at ingress, the decoded view
// the REST API serves, and attachments. Every function takes the raw message bytes (CRLF or LF)
// and never throws on malformed input: broken parts degrade to what can be read.
// Thread-safe once init() has run (GMime objects are per call).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.hpp"

namespace postern::mime {

// Calls g_mime_init() once per process. Safe to call repeatedly and from any thread.
void init();

struct Mailbox {
    std::string name;     // display name, decoded to UTF-8 (RFC 2047), may be empty
    std::string address;  // addr-spec as written (IDN domains kept as written)
};

// What ingress stores with each message, and what message lists show.
struct Summary {
    std::string message_id;               // Message-ID without angle brackets; empty if none
    std::string in_reply_to;              // first msg-id of In-Reply-To, without brackets
    std::vector<std::string> references;  // msg-ids of References, in order, without brackets
    std::vector<Mailbox> from, to, cc, reply_to;
    std::string subject;                  // decoded to UTF-8, unfolded
    std::optional<std::int64_t> date_ms;  // Date header as Unix milliseconds
    std::string snippet;                  // first ~200 characters of the text (or HTML-stripped)
                                          // body, whitespace collapsed, valid UTF-8
    bool has_attachments = false;
};

// Which parts are bodies and which are attachments (the same in parse(), attachment() and
// Summary::has_attachments): text/plain and text/html leaves not marked "Content-Disposition:
// attachment" are bodies, wherever they sit (several are joined: text with a blank line, HTML
// with a newline). Every other leaf is an attachment, numbered depth-first from 0: parts marked
// attachment, non-text parts (inline images too: see inline_disposition and content_id), other
// text types (text/calendar, text/csv), and message/rfc822 parts, which are not descended into.
// The signature part of multipart/signed is neither; multiparts nested deeper than 64 are ignored.
struct Attachment {
    std::size_t index = 0;     // position among attachments, from 0: the {n} of the REST route
    std::string filename;      // decoded (RFC 2231 / 2047); may be empty
    std::string content_type;  // "type/subtype", lowercase
    std::string content_id;    // without brackets; may be empty
    bool inline_disposition = false;
    std::size_t size = 0;  // decoded size in bytes (the length of AttachmentContent::data)
    std::string charset;   // the Content-Type charset parameter, lowercase; may be empty
};

struct Header {
    std::string name;
    std::string value;  // unfolded; encoded words decoded to UTF-8
};

// The decoded view served by GET /v1/messages/{id}.
struct Parsed {
    Summary summary;
    std::vector<Header> headers;  // in message order
    std::string text;             // text/plain body (all inline text parts joined), UTF-8, LF
    std::string html;             // text/html body, UTF-8, LF
    std::vector<Attachment> attachments;
};

[[nodiscard]] Result<Summary> summarize(std::string_view raw);

// The addresses of an address-list header value ("A <a@x>, b@y"), parsed by GMime; groups
// flattened, entries without an address dropped.
std::vector<std::string> addresses_in(std::string_view value);
[[nodiscard]] Result<Parsed> parse(std::string_view raw);

struct AttachmentContent {
    Attachment meta;
    std::string data;  // decoded bytes (base64 / quoted-printable undone); for message/rfc822,
                       // the embedded message as GMime writes it back out, with CRLF line ends
};
// Errc::not_found when there is no attachment `index`.
[[nodiscard]] Result<AttachmentContent> attachment(std::string_view raw, std::size_t index);

// The thread key of a subject: reply and forward prefixes (Re:, RE:, Re[2]:, Fwd:, Fw:, AW:, SV:,
// VS:, Antw:, WG:, 回复：…, and "[list]" tags before them) removed repeatedly, whitespace
// collapsed, Unicode case folded (NFC). A subject that is only a prefix or a tag is kept.
std::string normalize_subject(std::string_view subject);

// ---- Building outgoing messages (REST send, reply, forward) ----

// A media type (RFC 2045 §5.1): type and subtype as given, then its parameters decoded
// (RFC 2231 continuations and charsets joined by GMime), in order.
struct MediaType {
    std::string type, subtype;
    std::vector<std::pair<std::string, std::string>> parameters;
};

// "type/subtype" optionally followed by "; name=value" parameters (values quoted or not; an
// empty one, as in "text/plain;", is skipped).
// nullopt when type or subtype is not a token, a parameter is not name=value, or the text has a
// control character, is not UTF-8 or is over 1000 octets.
std::optional<MediaType> parse_media_type(std::string_view text);

struct OutgoingAttachment {
    std::string filename;      // UTF-8; written RFC 2231-encoded when not ASCII
    std::string content_type;  // parse_media_type(); message/rfc822 embeds `data` as a message
    std::string data;          // decoded bytes
};

// What build_message writes. There is deliberately no Bcc here: Bcc recipients go to the
// envelope only and never appear in the bytes.
struct Outgoing {
    Mailbox from;
    std::vector<Mailbox> to, cc, reply_to;
    std::string subject;  // UTF-8; RFC 2047-encoded when not ASCII
    std::string text;     // text/plain body (UTF-8); may be empty
    std::string html;     // text/html body (UTF-8); may be empty
    std::vector<OutgoingAttachment> attachments;
    std::string in_reply_to;              // msg-id without brackets; empty for none
    std::vector<std::string> references;  // msg-ids without brackets, oldest first
    std::vector<Header> extra_headers;    // checked with is_structural_header() by the caller
    std::string hostname;                 // the right side of the generated Message-ID
    std::int64_t date_ms = 0;             // the Date header (UTC)
};

struct Built {
    std::string raw;         // the complete message, CRLF line ends, 7-bit transfer encodings
    std::string message_id;  // the generated Message-ID, without brackets
};

// A MIME message for `m`: text and html become multipart/alternative; with attachments the body
// goes first in a multipart/mixed. Text parts are quoted-printable or base64 as GMime judges best,
// attachments base64, a message/rfc822 attachment is embedded as a message. Message-ID is
// "<random@hostname>", Date and MIME-Version are set. Errc::invalid_argument for an extra header
// that is structural or not a valid field, an attachment media type that is not "type/subtype",
// a message/rfc822 attachment that is not is_attachable_message(), or an in_reply_to or
// references id that is not is_writable_msg_id().
[[nodiscard]] Result<Built> build_message(const Outgoing& m);

// Whether `data` can be attached as message/rfc822: GMime reads it as a message (a header
// section, possibly empty, then the body). build_message refuses such an attachment otherwise;
// callers that name fields in their errors check first.
bool is_attachable_message(std::string_view data);

// Headers a caller may not set through Outgoing::extra_headers because the builder, the envelope
// or the transport owns them: From, Sender, To, Cc, Bcc, Reply-To, Subject, Date, Message-ID,
// In-Reply-To, References, MIME-Version, Content-*, Return-Path, Received, DKIM-Signature,
// Authentication-Results, ARC-*, Resent-*. Case-insensitive.
bool is_structural_header(std::string_view name);

// A msg-id without its brackets (RFC 5322 §3.6.4) that can be written into In-Reply-To or
// References as it is: id-left "@" id-right, both non-empty, at most 998 octets, valid UTF-8
// (RFC 6532), no space, control character, '<' or '>'. Mail we receive may carry anything in
// its Message-ID; only such ids are copied into a reply.
bool is_writable_msg_id(std::string_view id);

// Every line end as CRLF: a bare LF (a .eml file saved on Unix) or a bare CR becomes CRLF, and a
// run of CRs before an LF ("\r\r\n", left by a double conversion) is one line end, not two.
// For messages written elsewhere (an attached or piped .eml); build_message's own output is CRLF.
std::string crlf_lines(std::string_view in);

// `raw` (a whole message, CRLF line ends) for a server without 8BITMIME (RFC 6152 §3: convert,
// or do not send): every part with 8-bit content re-encoded as quoted-printable or base64, the
// rest as it was. nullopt when that cannot make it 7-bit: 8-bit in the header section (that
// needs SMTPUTF8), or in a part declared 7bit, base64 or quoted-printable, which GMime leaves
// as it is.
std::optional<std::string> seven_bit(const std::string& raw);

}  // namespace postern::mime
