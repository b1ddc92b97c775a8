// build_message: the bytes it writes are read back with our own GMime parser (mime::parse) and
// checked for the structure and headers a receiver relies on.
#include <algorithm>
#include <catch2/catch.hpp>
#include <string>

#include "common/mime.hpp"

using namespace postern;
using namespace postern::mime;

namespace {

Outgoing basic() {
    Outgoing m;
    m.from = {"Alice", "alice@example.com"};
    m.to = {{"", "bob@remote.example"}};
    m.subject = "Hello";
    m.text = "Hi Bob\n";
    m.hostname = "mx.example.net";
    m.date_ms = 1795000000000;  // 2026-11-18
    return m;
}

std::string header_of(const Parsed& p, std::string_view name) {
    for (const auto& h : p.headers)
        if (h.name == name) return h.value;
    return "";
}

std::string head(const std::string& raw) { return raw.substr(0, raw.find("\r\n\r\n")); }

}  // namespace

TEST_CASE("build_message writes a plain text message with the required headers") {
    auto built = build_message(basic());
    REQUIRE(built);
    const std::string& raw = built->raw;
    CHECK(raw.find("\r\n") != std::string::npos);
    CHECK(raw.find("\n") == raw.find("\r\n") + 1);  // CRLF line ends
    CHECK(built->message_id.ends_with("@mx.example.net"));
    auto parsed = parse(raw);
    REQUIRE(parsed);
    CHECK(parsed->summary.message_id == built->message_id);
    CHECK(parsed->summary.subject == "Hello");
    REQUIRE(parsed->summary.from.size() == 1);
    CHECK(parsed->summary.from[0].name == "Alice");
    CHECK(parsed->summary.from[0].address == "alice@example.com");
    CHECK(parsed->summary.date_ms == 1795000000000);
    CHECK(header_of(*parsed, "MIME-Version") == "1.0");
    CHECK(parsed->text == "Hi Bob\n");
    CHECK(parsed->attachments.empty());
}

TEST_CASE("build_message encodes UTF-8 subjects and display names with RFC 2047") {
    Outgoing m = basic();
    m.subject = "Grüße aus Köln — 你好";
    m.to = {{"Zoë Ünal", "zoe@remote.example"}};
    auto built = build_message(m);
    REQUIRE(built);
    std::string h = head(built->raw);
    for (unsigned char c : h) CHECK(c < 0x80);  // headers are 7-bit
    CHECK(h.find("=?") != std::string::npos);
    auto parsed = parse(built->raw);
    REQUIRE(parsed);
    CHECK(parsed->summary.subject == "Grüße aus Köln — 你好");
    REQUIRE(parsed->summary.to.size() == 1);
    CHECK(parsed->summary.to[0].name == "Zoë Ünal");
}

TEST_CASE("build_message makes multipart/alternative for text and html") {
    Outgoing m = basic();
    m.text = "plain café\n";
    m.html = "<p>rich café</p>\n";
    auto built = build_message(m);
    REQUIRE(built);
    CHECK(head(built->raw).find("multipart/alternative") != std::string::npos);
    auto parsed = parse(built->raw);
    REQUIRE(parsed);
    CHECK(parsed->text == "plain café\n");
    CHECK(parsed->html == "<p>rich café</p>\n");
    // 8-bit text is transfer-encoded: the whole message is 7-bit.
    for (unsigned char c : built->raw) REQUIRE(c < 0x80);
}

TEST_CASE("build_message makes multipart/mixed with base64 attachments") {
    Outgoing m = basic();
    m.html = "<b>hi</b>";
    std::string binary("\x00\x01\xff\xfe PDF", 8);
    m.attachments = {{"report ü.pdf", "application/pdf", binary}, {"a.txt", "text/plain", "abc"}};
    auto built = build_message(m);
    REQUIRE(built);
    CHECK(head(built->raw).find("multipart/mixed") != std::string::npos);
    CHECK(built->raw.find("multipart/alternative") != std::string::npos);
    auto parsed = parse(built->raw);
    REQUIRE(parsed);
    REQUIRE(parsed->attachments.size() == 2);
    CHECK(parsed->attachments[0].filename == "report ü.pdf");
    CHECK(parsed->attachments[0].content_type == "application/pdf");
    auto a0 = attachment(built->raw, 0);
    REQUIRE(a0);
    CHECK(a0->data == binary);
    auto a1 = attachment(built->raw, 1);
    REQUIRE(a1);
    CHECK(a1->data == "abc");
    CHECK(parsed->text == "Hi Bob\n");
}

TEST_CASE("build_message embeds a message/rfc822 attachment as a message") {
    Outgoing m = basic();
    std::string original =
        "From: carol@else.example\r\nTo: alice@example.com\r\nSubject: Original\r\n"
        "Message-ID: <orig@else.example>\r\n\r\nThe original body.\r\n";
    m.attachments = {{"", "message/rfc822", original}};
    auto built = build_message(m);
    REQUIRE(built);
    CHECK(built->raw.find("Content-Type: message/rfc822") != std::string::npos);
    CHECK(built->raw.find("Subject: Original") != std::string::npos);
    CHECK(built->raw.find("Content-Transfer-Encoding: base64") == std::string::npos);
    auto parsed = parse(built->raw);
    REQUIRE(parsed);
    REQUIRE(parsed->attachments.size() == 1);
    CHECK(parsed->attachments[0].content_type == "message/rfc822");
}

TEST_CASE("only a message can be attached as message/rfc822") {
    CHECK(is_attachable_message("Subject: x\r\n\r\nbody"));
    CHECK(is_attachable_message("Subject: x\n\nbody, LF line ends"));
    CHECK(is_attachable_message("\r\nan empty header section\r\n"));
    for (std::string data :
         {std::string(), std::string("hello world"), std::string("not a header line\r\n\r\nbody"),
          std::string("\x01\x02\xff garbage\0", 12)}) {
        CHECK_FALSE(is_attachable_message(data));
        Outgoing m = basic();
        m.attachments = {{"", "message/rfc822", data}};
        auto built = build_message(m);
        REQUIRE_FALSE(built);
        CHECK(built.error().code() == Errc::invalid_argument);
    }
}

TEST_CASE("build_message makes a message/rfc822 attachment's line ends CRLF") {
    // A .eml saved on Unix (LF), and one with a bare CR inside a header (found by the
    // send_request fuzzer: it went out as a bare CR, which receivers refuse as smuggling).
    for (std::string original :
         {std::string("From: carol@else.example\nSubject: Unix\n\nbody\n"),
          std::string("From: x@example.org\rSubject: inner\r\n\r\nbody\r\n")}) {
        Outgoing m = basic();
        m.attachments = {{"", "message/rfc822", original}};
        auto built = build_message(m);
        REQUIRE(built);
        for (std::size_t i = 0; i < built->raw.size(); ++i) {
            if (built->raw[i] == '\n') CHECK((i > 0 && built->raw[i - 1] == '\r'));
            if (built->raw[i] == '\r')
                CHECK((i + 1 < built->raw.size() && built->raw[i + 1] == '\n'));
        }
        auto parsed = parse(built->raw);
        REQUIRE(parsed);
        CHECK(parsed->attachments.size() == 1);
    }
}

TEST_CASE("build_message takes CR CR LF in a message/rfc822 attachment as one line end") {
    Outgoing m = basic();
    m.attachments = {
        {"", "message/rfc822",
         "From: x@example.org\r\r\nSubject: kept in the header\r\r\n\r\r\nbody\r\r\n"}};
    auto built = build_message(m);
    REQUIRE(built);
    auto inner = attachment(built->raw, 0);
    REQUIRE(inner);
    // The Subject stayed in the embedded header section (no blank line was made before it).
    auto parsed = parse(inner->data);
    REQUIRE(parsed);
    CHECK(parsed->summary.subject == "kept in the header");

    // A long run of lone CRs is handled in one pass (each ends a line), not rescanned per CR:
    // 4 MiB of them would otherwise take hours.
    Outgoing crs = basic();
    crs.attachments = {{"", "message/rfc822",
                        "From: x@example.org\r\n\r\n" + std::string(4 << 20, '\r') + "end\r\n"}};
    auto many = build_message(crs);
    REQUIRE(many);
    CHECK(many->raw.find("end\r\n") != std::string::npos);
}

TEST_CASE(
    "build_message re-encodes a forwarded message that cannot go out as it is; refuses what it "
    "cannot mend") {
    // A header value with no space to fold at: GMime writes it as encoded words it can fold.
    Outgoing header = basic();
    header.extra_headers = {{"X-Token", std::string(2000, 'a')}};
    auto h = build_message(header);
    REQUIRE(h);
    auto hp = parse(h->raw);
    REQUIRE(hp);
    CHECK(header_of(*hp, "X-Token") == std::string(2000, 'a'));

    // A forwarded message whose body has a line over 998 octets or a NUL: its parts are
    // re-encoded, and the content reads back the same. A header line with no place to fold
    // cannot be mended that way: refused.
    Outgoing long_line = basic();
    long_line.attachments = {{"", "message/rfc822",
                              "From: a@example.org\r\nSubject: long\r\n\r\n" +
                                  std::string(1500, 'b') + "\r\nshort\r\n"}};
    auto l = build_message(long_line);
    REQUIRE(l);
    CHECK(l->raw.find(std::string(999, 'b')) == std::string::npos);
    CHECK(l->raw.find("Subject: long") != std::string::npos);  // the headers as they were
    Outgoing nul = basic();
    nul.attachments = {
        {"", "message/rfc822", std::string("From: a@example.org\r\n\r\nx\0y\r\n", 28)}};
    auto n = build_message(nul);
    REQUIRE(n);
    CHECK(n->raw.find('\0') == std::string::npos);
    // What was re-encoded decodes to the original body (GMime reads the embedded message).
    auto embedded = attachment(l->raw, 0);
    REQUIRE(embedded);
    CHECK(embedded->meta.content_type == "message/rfc822");
    auto inner = parse(embedded->data);
    REQUIRE(inner);
    CHECK(inner->text == std::string(1500, 'b') + "\nshort\n");

    // What re-encoding cannot mend — a header line with no place to fold, a part GMime takes
    // for safe already (declared 7bit) — goes as application/octet-stream, the bytes intact.
    for (const std::string& eml :
         {"X-Long: " + std::string(1500, 'h') + "\r\n\r\nbody\r\n",
          "From: a@example.org\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n"
          "Content-Transfer-Encoding: 7bit\r\n\r\n" +
              std::string(1500, 's') + "\r\n"}) {
        Outgoing o = basic();
        o.attachments = {{"", "message/rfc822", eml}};
        auto built = build_message(o);
        REQUIRE(built);
        auto att = attachment(built->raw, 0);
        REQUIRE(att);
        CHECK(att->meta.content_type == "application/octet-stream");
        CHECK(att->meta.filename == "message.eml");
        CHECK(att->data == eml);
    }

    // Long text and long words in the body are encoded (quoted-printable or base64), not refused.
    Outgoing body = basic();
    body.text = std::string(5000, 'c') + "\n";
    auto b = build_message(body);
    REQUIRE(b);
}

TEST_CASE("build_message writes threading headers and never a Bcc") {
    Outgoing m = basic();
    m.in_reply_to = "parent@remote.example";
    m.references = {"root@remote.example", "parent@remote.example"};
    m.cc = {{"", "carol@remote.example"}};
    m.extra_headers = {{"X-Agent-Run", "run 42"}};
    auto built = build_message(m);
    REQUIRE(built);
    auto parsed = parse(built->raw);
    REQUIRE(parsed);
    CHECK(parsed->summary.in_reply_to == "parent@remote.example");
    CHECK(parsed->summary.references ==
          std::vector<std::string>{"root@remote.example", "parent@remote.example"});
    CHECK(header_of(*parsed, "X-Agent-Run") == "run 42");
    CHECK(built->raw.find("Bcc") == std::string::npos);
}

TEST_CASE("build_message refuses structural and malformed extra headers") {
    auto with = [](std::string name, std::string value) {
        Outgoing m = basic();
        m.extra_headers = {{std::move(name), std::move(value)}};
        return build_message(m);
    };
    for (const char* name : {"From", "bcc", "Content-Type", "message-id", "MIME-Version",
                             "DKIM-Signature", "Resent-From", "References", "Date"}) {
        CAPTURE(name);
        auto r = with(name, "x");
        REQUIRE_FALSE(r);
        CHECK(r.error().code() == Errc::invalid_argument);
    }
    CHECK_FALSE(with("Bad Name", "x"));
    CHECK_FALSE(with("X-Ok", "line\r\nBcc: injected@evil.example"));
    CHECK(with("X-Ok", "fine"));
    CHECK(is_structural_header("content-transfer-encoding"));
    CHECK_FALSE(is_structural_header("X-Priority"));
}

TEST_CASE("build_message refuses an attachment without a valid media type") {
    Outgoing m = basic();
    m.attachments = {{"a", "not a type", "x"}};
    CHECK_FALSE(build_message(m));
}

TEST_CASE("crlf_lines makes every line end CRLF, once", "[mime]") {
    using postern::mime::crlf_lines;
    CHECK(crlf_lines("") == "");
    CHECK(crlf_lines("a\nb\n") == "a\r\nb\r\n");            // a .eml saved on Unix
    CHECK(crlf_lines("a\r\nb\r\n") == "a\r\nb\r\n");        // already right
    CHECK(crlf_lines("a\r\r\nb\r\r\r\n") == "a\r\nb\r\n");  // a double conversion
    CHECK(crlf_lines("a\rb\r\rc") == "a\r\nb\r\n\r\nc");    // lone CRs each end a line
    CHECK(crlf_lines("a\n\nb\r") == "a\r\n\r\nb\r\n");      // blank line kept; final CR
    CHECK(crlf_lines("\r\n\n\r") == "\r\n\r\n\r\n");
}

TEST_CASE("seven_bit re-encodes 8-bit parts and keeps what was 7-bit", "[mime]") {
    const std::string raw =
        "From: a@example.com\r\nSubject: s\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
        "--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        "Gr\xc3\xbc\xc3\x9f"
        "e\r\n--b\r\nContent-Type: text/plain\r\n\r\nplain ascii stays\r\n"
        "--b\r\nContent-Type: message/rfc822\r\n\r\n"
        "Subject: inner\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\xc3\xa9t\xc3\xa9\r\n"
        "--b--\r\n";
    auto seven = seven_bit(raw);
    REQUIRE(seven);
    CHECK(std::all_of(seven->begin(), seven->end(),
                      [](char c) { return static_cast<unsigned char>(c) < 0x80; }));
    CHECK(seven->find("plain ascii stays\r\n") != std::string::npos);
    CHECK(seven->starts_with("From: a@example.com\r\nSubject: s\r\n"));
    auto parsed = parse(*seven);
    REQUIRE(parsed);
    CHECK(parsed->text.find("Grüße\n") != std::string::npos);
    auto inner = seven->find("Subject: inner");
    REQUIRE(inner != std::string::npos);
    CHECK(seven->find("Content-Transfer-Encoding", inner) != std::string::npos);
}

TEST_CASE("seven_bit refuses what only SMTPUTF8 or nothing can carry", "[mime]") {
    // A UTF-8 header field.
    CHECK_FALSE(
        seven_bit("Subject: Gr\xc3\xbc\xc3\x9f"
                  "e\r\n\r\nbody\r\n"));
    // 8-bit content in a part declared base64 or 7bit: GMime leaves it, so it stays 8-bit.
    CHECK_FALSE(
        seven_bit("Subject: s\r\nMIME-Version: 1.0\r\nContent-Transfer-Encoding: 7bit\r\n"
                  "\r\n\xc3\xa9\r\n"));
    // A NUL that GMime leaves (in a part declared 7bit) beside an 8-bit part it converts: the
    // message is refused whole, not cut at the NUL.
    using namespace std::string_literals;
    CHECK_FALSE(
        seven_bit("Subject: s\r\nMIME-Version: 1.0\r\n"
                  "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
                  "Content-Transfer-Encoding: 7bit\r\n\r\nbefore\0after\r\n--b\r\n"
                  "Content-Transfer-Encoding: 8bit\r\n\r\n\xc3\xa9\r\n--b--\r\n"s));
    // Signed content is not re-encoded (that would break its signature).
    CHECK_FALSE(
        seven_bit("Subject: s\r\nMIME-Version: 1.0\r\nContent-Type: multipart/signed; "
                  "protocol=\"application/pgp-signature\"; micalg=pgp-sha256; boundary=b\r\n"
                  "\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n"
                  "Content-Transfer-Encoding: 8bit\r\n\r\n\xc3\xa9\r\n--b\r\n"
                  "Content-Type: application/pgp-signature\r\n\r\nsig\r\n--b--\r\n"));
    // 8-bit text in a multipart with no boundary (GMime keeps it as the prologue): never sent
    // as 8-bit to a server that did not offer 8BITMIME.
    CHECK_FALSE(
        seven_bit("Subject: s\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed\r\n\r\n"
                  "Caf\xc3\xa9\r\n"));
}

TEST_CASE("parse_media_type reads type, subtype and parameters, and refuses what is not one") {
    auto m = parse_media_type("Text/Plain; charset=\"utf-8\"; format=flowed");
    REQUIRE(m);
    CHECK(m->type == "Text");
    CHECK(m->subtype == "Plain");
    CHECK(m->parameters == std::vector<std::pair<std::string, std::string>>{{"charset", "utf-8"},
                                                                            {"format", "flowed"}});
    m = parse_media_type("application/x-thing; note=\"a;b\"");  // ';' inside quotes
    REQUIRE(m);
    CHECK(m->parameters.size() == 1);
    CHECK(m->parameters[0].second == "a;b");
    m = parse_media_type("text/plain; name*=utf-8''%C3%A9.txt");  // RFC 2231, decoded
    REQUIRE(m);
    CHECK(m->parameters[0].second == "\xC3\xA9.txt");
    CHECK(parse_media_type("text/plain;"));
    CHECK(parse_media_type("application/octet-stream")->parameters.empty());
    for (const char* bad :
         {"text", "/plain", "text/", "text /plain", "text/pl@in", "text/plain; junk",
          "text/plain; =x", "text/plain; a=b; c", "text/plain; a=", "text/plain\r\n; a=b",
          "text/plain; name*=us-ascii''a%0D%0Ab"}) {
        CAPTURE(bad);
        CHECK_FALSE(parse_media_type(bad));
    }
}

TEST_CASE("build_message keeps an attachment's media type parameters; filename names it") {
    Outgoing m = basic();
    m.attachments = {{"notes.txt", "text/plain; charset=utf-8; name=other.txt", "x\r\n"}};
    auto built = build_message(m);
    REQUIRE(built);
    CHECK(built->raw.find("charset=utf-8") != std::string::npos);
    CHECK(built->raw.find("other.txt") == std::string::npos);
    CHECK(built->raw.find("name=notes.txt") != std::string::npos);
}

TEST_CASE("is_writable_msg_id takes left@right and nothing that would break the header") {
    for (const char* good :
         {"a@b", "plan-2@remote.example", "x.y+z@[127.0.0.1]", "\xC3\xA9t\xC3\xA9@example.fr"}) {
        CAPTURE(good);
        CHECK(is_writable_msg_id(good));
    }
    for (const char* bad :
         {"", "no-at-sign", "@b", "a@", "a b@c", "a@b>", "<a@b", "a\r\n@b", "a@b\t", "\xC3@b"}) {
        CAPTURE(bad);
        CHECK_FALSE(is_writable_msg_id(bad));
    }
    CHECK_FALSE(is_writable_msg_id(std::string(990, 'a') + "@example.com"));
    Outgoing m = basic();
    m.references = {"fine@x", "not one"};
    CHECK_FALSE(build_message(m));
    m.references = {};
    m.in_reply_to = "broken";
    CHECK_FALSE(build_message(m));
}
