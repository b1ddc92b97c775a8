#include "common/mime.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "common/ascii.hpp"
#include "common/crypto.hpp"
#include "common/header_fields.hpp"

using namespace postern;
using namespace postern::mime;

namespace {

std::string crlf(std::string_view lf) {
    std::string out;
    for (char c : lf) {
        if (c == '\n') out += '\r';
        out += c;
    }
    return out;
}

// Every test message is written with LF; each also runs with CRLF line ends.
std::string line_ends(std::string_view lf) {
    bool use_crlf = GENERATE(false, true);
    return use_crlf ? crlf(lf) : std::string(lf);
}

bool valid_utf8(const std::string& s) {
    for (std::size_t i = 0; i < s.size();) {
        auto c = static_cast<unsigned char>(s[i]);
        std::size_t extra = c < 0x80                 ? 0
                            : c >= 0xC2 && c <= 0xDF ? 1
                            : c >= 0xE0 && c <= 0xEF ? 2
                            : c >= 0xF0 && c <= 0xF4 ? 3
                                                     : 4;
        if (extra == 4 || i + extra >= s.size() + (extra == 0 ? 1 : 0)) return false;
        for (std::size_t k = 1; k <= extra; ++k)
            if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
        i += extra + 1;
    }
    return true;
}

std::size_t code_points(const std::string& s) {
    std::size_t n = 0;
    for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    return n;
}

Summary summary_of(const std::string& raw) {
    auto s = summarize(raw);
    REQUIRE(s);
    return *s;
}

Parsed parsed_of(const std::string& raw) {
    auto p = parse(raw);
    REQUIRE(p);
    return *p;
}

const char* const kPlain = R"(Return-Path: <alice@example.com>
Received: from mx.example.com (mx.example.com [192.0.2.1])
	by mail.example.org with ESMTPS id 4B2C
	for <bob@example.org>; Tue, 01 Aug 2023 08:00:01 +0000
Message-ID: <CAF12345.abc@mail.example.com>
In-Reply-To: <prev-1@example.org>
References: <root-0@example.org>
 <prev-1@example.org>
Date: Tue, 01 Aug 2023 10:00:00 +0200
From: Alice Example <alice@example.com>
To: Bob <bob@example.org>, carol@example.org
Cc: "Dave, D." <dave@example.net>
Reply-To: replies@example.com
Subject: Quarterly report
 is ready
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii
Content-Transfer-Encoding: 7bit

Hi Bob,

The   quarterly report is attached to the wiki.
	Let me know what you think.

-- 
Alice
)";

}  // namespace

TEST_CASE("summarize reads the envelope headers of a plain message", "[mime]") {
    std::string raw = line_ends(kPlain);
    Summary s = summary_of(raw);
    CHECK(s.message_id == "CAF12345.abc@mail.example.com");
    CHECK(s.in_reply_to == "prev-1@example.org");
    CHECK(s.references == std::vector<std::string>{"root-0@example.org", "prev-1@example.org"});
    REQUIRE(s.from.size() == 1);
    CHECK(s.from[0].name == "Alice Example");
    CHECK(s.from[0].address == "alice@example.com");
    REQUIRE(s.to.size() == 2);
    CHECK(s.to[0].name == "Bob");
    CHECK(s.to[0].address == "bob@example.org");
    CHECK(s.to[1].name.empty());
    CHECK(s.to[1].address == "carol@example.org");
    REQUIRE(s.cc.size() == 1);
    CHECK(s.cc[0].name == "Dave, D.");
    CHECK(s.cc[0].address == "dave@example.net");
    REQUIRE(s.reply_to.size() == 1);
    CHECK(s.reply_to[0].address == "replies@example.com");
    CHECK(s.subject == "Quarterly report is ready");
    REQUIRE(s.date_ms);
    CHECK(*s.date_ms == 1690876800000);  // 2023-08-01T08:00:00Z
    CHECK(s.snippet ==
          "Hi Bob, The quarterly report is attached to the wiki. Let me know what you think. -- "
          "Alice");
    CHECK_FALSE(s.has_attachments);
}

TEST_CASE("parse gives every header in order, unfolded and decoded", "[mime]") {
    std::string raw = line_ends(R"(From: =?UTF-8?Q?J=C3=B6rg?= <joerg@example.de>
Subject: =?utf-8?B?R3LDvMOfZSBhdXMgTcO8bmNoZW4=?=
MIME-Version: 1.0
Content-Type: text/plain;
 charset="utf-8"
X-Folded: one
	two
Content-Transfer-Encoding: 8bit

Body.
)");
    Parsed p = parsed_of(raw);
    std::vector<std::pair<std::string, std::string>> headers;
    for (auto& h : p.headers) headers.emplace_back(h.name, h.value);
    std::vector<std::pair<std::string, std::string>> expected = {
        {"From", "Jörg <joerg@example.de>"},
        {"Subject", "Grüße aus München"},
        {"MIME-Version", "1.0"},
        {"Content-Type", "text/plain; charset=\"utf-8\""},
        {"X-Folded", "one\ttwo"},
        {"Content-Transfer-Encoding", "8bit"},
    };
    CHECK(headers == expected);
    CHECK(p.text == "Body.\n");
    CHECK(p.html.empty());
    CHECK(p.attachments.empty());
    CHECK(p.summary.snippet == "Body.");
}

TEST_CASE("RFC 2047 and raw 8-bit subjects decode to UTF-8", "[mime]") {
    auto [header, expected] = GENERATE(table<std::string, std::string>({
        {"=?UTF-8?B?R3LDvMOfZSBhdXMgTcO8bmNoZW4=?=", "Grüße aus München"},
        {"=?utf-8?q?Gr=C3=BC=C3=9Fe_aus_M=C3=BCnchen?=", "Grüße aus München"},
        {"=?ISO-8859-1?Q?Caf=E9_cr=E8me?=", "Café crème"},
        {"=?iso-8859-1?b?Q2Fm6Q==?=", "Café"},
        // Adjacent words join without the space between them; padding inside a run of base64
        // words is where GMime 3.2.13 stops decoding unless mime.cpp works around it.
        {"=?UTF-8?B?R3LDvMOfZQ==?= =?UTF-8?B?IGF1cw==?=", "Grüße aus"},
        {"=?UTF-8?B?R3LDvMOfZQ==?=\n =?utf-8?b?IGF1cw==?=\n =?UTF-8?Q?_M=C3=BCnchen?=",
         "Grüße aus München"},
        {"=?UTF-8?B?R3LDvMOf?= =?UTF-8?B?ZSBhdXM=?=", "Grüße aus"},
        {"Re: =?UTF-8?Q?M=C3=BCnchen?= trip", "Re: München trip"},
        {"Caf\xC3\xA9 \xE2\x82\xAC 5", "Café € 5"},  // raw UTF-8
        {"Caf\xE9 cr\xE8me", "Café crème"},          // raw Latin-1
        {"=?koi8-r?B?8NLJ18XU?=", "Привет"},
        {"plain ascii", "plain ascii"},
    }));
    std::string raw = "From: a@example.com\nSubject: " + header + "\n\nbody\n";
    Summary s = summary_of(raw);
    CHECK(s.subject == expected);
}

TEST_CASE("display names decode RFC 2047 and keep the address", "[mime]") {
    std::string raw = line_ends(R"(From: =?UTF-8?B?w5xu?= =?UTF-8?B?w69jw7Zkw6k=?=
 =?UTF-8?B?IE7DpG3DqQ==?= <u@example.com>
To: =?ISO-8859-1?Q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>, "=?utf-8?q?Jos=C3=A9?=" <jose@example.es>
Cc: Team: x@example.com, "Y Z" <y@example.com>;, solo@example.com
Subject: names

hi
)");
    Summary s = summary_of(raw);
    REQUIRE(s.from.size() == 1);
    CHECK(s.from[0].name == "Ünïcödé Nämé");
    CHECK(s.from[0].address == "u@example.com");
    REQUIRE(s.to.size() == 2);
    CHECK(s.to[0].name == "André Pirard");
    CHECK(s.to[0].address == "PIRARD@vm1.ulg.ac.be");
    CHECK(s.to[1].name == "José");
    CHECK(s.to[1].address == "jose@example.es");
    REQUIRE(s.cc.size() == 3);  // group members are flattened
    CHECK(s.cc[0].address == "x@example.com");
    CHECK(s.cc[1].name == "Y Z");
    CHECK(s.cc[1].address == "y@example.com");
    CHECK(s.cc[2].address == "solo@example.com");
}

TEST_CASE("quoted-printable windows-1252 and base64 bodies decode to UTF-8", "[mime]") {
    SECTION("quoted-printable, windows-1252") {
        std::string raw = line_ends(R"(From: a@example.com
Subject: qp
Content-Type: text/plain; charset=windows-1252
Content-Transfer-Encoding: quoted-printable

Caf=E9 costs =8010 =96 =93quoted=94 and a soft=
 break.
)");
        Parsed p = parsed_of(raw);
        CHECK(p.text == "Café costs €10 – “quoted” and a soft break.\n");
        CHECK(p.summary.snippet == "Café costs €10 – “quoted” and a soft break.");
        CHECK(summary_of(raw).snippet == p.summary.snippet);
    }
    SECTION("iso-8859-1 label reads as windows-1252") {
        std::string raw = line_ends(R"(From: a@example.com
Content-Type: text/plain; charset=ISO-8859-1
Content-Transfer-Encoding: quoted-printable

=93Gr=FC=DFe=94
)");
        CHECK(parsed_of(raw).text == "“Grüße”\n");
    }
    SECTION("base64, UTF-8") {
        std::string raw = line_ends(R"(From: a@example.com
Subject: b64
Content-Type: text/plain; charset=UTF-8
Content-Transfer-Encoding: base64

SGVsbG8gZnJvbSBiYXNlNjQg4oCUIHdpdGggVVRGLTg6IG5hw692ZSBjYWbDqS4KU2Vjb25kIGxp
bmUuCg==
)");
        Parsed p = parsed_of(raw);
        CHECK(p.text == "Hello from base64 — with UTF-8: naïve café.\nSecond line.\n");
        CHECK(summary_of(raw).snippet ==
              "Hello from base64 — with UTF-8: naïve café. Second line.");
    }
    SECTION("base64 in padded chunks, and without its padding") {
        auto [body, expected] = GENERATE(table<std::string, std::string>({
            {"SGVsbG8=\nIHdvcmxk\n", "Hello world"},  // a footer appended as more base64
            {"SGVsbG8", "Hello"},
            {"SGVsbG8gd29ybGQ=\n\n", "Hello world"},
            {"!!!\n", ""},
        }));
        std::string raw =
            "From: a@example.com\nContent-Type: text/plain\n"
            "Content-Transfer-Encoding: base64\n\n" +
            body;
        CHECK(parsed_of(raw).text == expected);
        CHECK(summary_of(raw).snippet == expected);
    }
    SECTION("a bare CR carried by quoted-printable or base64 is a line end") {
        std::string qp = line_ends(R"(From: a@example.com
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

one=0Dtwo=0D=0Athree=0D=0Dfour
five
)");
        Parsed p = parsed_of(qp);
        CHECK(p.text == "one\ntwo\nthree\n\nfour\nfive\n");
        CHECK(p.summary.snippet == "one two three four five");
        CHECK(summary_of(qp).snippet == p.summary.snippet);
        // "mac\rtext\rend" in base64
        std::string b64 =
            "From: a@example.com\nContent-Type: text/plain\n"
            "Content-Transfer-Encoding: base64\n\nbWFjDXRleHQNZW5k\n";
        CHECK(parsed_of(b64).text == "mac\ntext\nend");
        std::string html =
            "From: a@example.com\nContent-Type: text/html\n"
            "Content-Transfer-Encoding: quoted-printable\n\n<p>a=0Db</p>\n";
        CHECK(parsed_of(html).html.find('\r') == std::string::npos);
    }
    SECTION("koi8-r and shift_jis, 8bit") {
        std::string koi =
            "From: a@example.com\nContent-Type: text/plain; charset=koi8-r\n"
            "Content-Transfer-Encoding: 8bit\n\n"
            "\xF0\xD2\xC9\xD7\xC5\xD4, \xCD\xC9\xD2!\n";
        CHECK(parsed_of(koi).text == "Привет, мир!\n");
        std::string sjis =
            "From: a@example.com\nContent-Type: text/plain; charset=Shift_JIS\n\n"
            "\x93\xFA\x96{\x8C\xEA\x82\xCC\x83"
            "e\x83L\x83X\x83g\n";
        CHECK(parsed_of(sjis).text == "日本語のテキスト\n");
        CHECK(summary_of(sjis).snippet == "日本語のテキスト");
    }
    SECTION("bytes that are not UTF-8 never leak out") {
        std::string raw =
            "From: a@example.com\nContent-Type: text/plain; charset=utf-8\n\n"
            "ok \xC3\xA9 bad \xFF\xFE trunc \xE2\x82 nul \x01 end\n";
        Parsed p = parsed_of(raw);
        CHECK(valid_utf8(p.text));
        CHECK(p.text == "ok é bad ÿþ trunc â‚ nul \x01 end\n");
        CHECK(p.summary.snippet == "ok é bad ÿþ trunc â‚ nul end");
        std::string unknown =
            "From: a@example.com\nContent-Type: text/plain; charset=x-no-such\n\n"
            "caf\xE9\n";
        CHECK(parsed_of(unknown).text == "café\n");
    }
}

TEST_CASE("multipart/alternative yields both bodies and no attachment", "[mime]") {
    std::string raw = line_ends(R"(From: Shop <news@shop.example>
To: you@example.com
Subject: Sale
Date: Wed, 02 Aug 2023 12:30:00 +0000
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="alt-1"

This is a multi-part message in MIME format.

--alt-1
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Big sale =E2=80=94 50% off!
--alt-1
Content-Type: text/html; charset=utf-8

<html><body><p>Big sale &mdash; <b>50%</b> off!</p></body></html>
--alt-1--
)");
    Parsed p = parsed_of(raw);
    CHECK(p.text == "Big sale — 50% off!");
    CHECK(p.html == "<html><body><p>Big sale &mdash; <b>50%</b> off!</p></body></html>");
    CHECK(p.attachments.empty());
    CHECK_FALSE(p.summary.has_attachments);
    CHECK(p.summary.snippet == "Big sale — 50% off!");
    Summary s = summary_of(raw);
    CHECK(s.snippet == "Big sale — 50% off!");
    CHECK(*s.date_ms == 1690979400000);
    CHECK_FALSE(s.has_attachments);
}

namespace {

const char* const kMixedPdf = R"(From: Alice <alice@example.com>
To: bob@example.org
Subject: Invoice
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="----=_Part_7"

------=_Part_7
Content-Type: text/plain; charset=utf-8

Please find the invoice attached.
------=_Part_7
Content-Type: application/pdf; name="fallback.pdf"
Content-Transfer-Encoding: base64
Content-Disposition: attachment;
 filename*=UTF-8''r%C3%A9sum%C3%A9%202024.pdf

JVBERi0xLjQKJeLjz9MKMSAwIG9iago8PCAvVHlwZSAvQ2F0YWxvZyA+PgplbmRvYmoKdHJhaWxl
cgo8PCAvUm9vdCAxIDAgUiA+PgolJUVPRgo=
------=_Part_7--
)";

const std::string kPdf(
    "%PDF-1.4\n%\xE2\xE3\xCF\xD3\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R "
    ">>\n%%EOF\n");

}  // namespace

TEST_CASE("multipart/mixed with a base64 PDF and an RFC 2231 filename", "[mime]") {
    std::string raw = line_ends(kMixedPdf);
    Parsed p = parsed_of(raw);
    CHECK(p.text == "Please find the invoice attached.");
    REQUIRE(p.attachments.size() == 1);
    const Attachment& a = p.attachments[0];
    CHECK(a.index == 0);
    CHECK(a.filename == "résumé 2024.pdf");
    CHECK(a.content_type == "application/pdf");
    CHECK(a.content_id.empty());
    CHECK_FALSE(a.inline_disposition);
    CHECK(a.size == kPdf.size());
    CHECK(p.summary.has_attachments);
    CHECK(summary_of(raw).has_attachments);
    CHECK(summary_of(raw).snippet == "Please find the invoice attached.");

    auto content = attachment(raw, 0);
    REQUIRE(content);
    CHECK(content->data == kPdf);
    CHECK(content->meta.filename == "résumé 2024.pdf");
    CHECK(content->meta.size == kPdf.size());

    auto missing = attachment(raw, 1);
    REQUIRE_FALSE(missing);
    CHECK(missing.error().code() == Errc::not_found);
}

TEST_CASE("attachment filenames: RFC 2231 continuations, RFC 2047 in name=", "[mime]") {
    auto [params, expected] = GENERATE(table<std::string, std::string>({
        {"Content-Type: text/plain; name=\"=?UTF-8?B?WsO8cmljaC50eHQ=?=\"\n"
         "Content-Disposition: attachment",
         "Zürich.txt"},
        {"Content-Type: application/octet-stream\n"
         "Content-Disposition: attachment; filename*0*=iso-8859-1''Caf%E9%20;\n"
         " filename*1=\"menu.txt\"",
         "Café menu.txt"},
        {"Content-Type: application/octet-stream\n"
         "Content-Disposition: attachment; filename=\"plain name.bin\"",
         "plain name.bin"},
        {"Content-Type: application/octet-stream", ""},
    }));
    std::string raw =
        "From: a@example.com\nContent-Type: multipart/mixed; boundary=b\n\n--b\n\n"
        "body\n--b\n" +
        params + "\n\nZGF0YQ==\n--b--\n";
    Parsed p = parsed_of(raw);
    REQUIRE(p.attachments.size() == 1);
    CHECK(p.attachments[0].filename == expected);
    CHECK(p.text == "body");
}

TEST_CASE("nested multiparts: related images, calendar and text attachments", "[mime]") {
    std::string raw = line_ends(R"(From: a@example.com
Subject: nested
Content-Type: multipart/mixed; boundary="outer"

--outer
Content-Type: multipart/alternative; boundary="alt"

--alt
Content-Type: text/plain; charset=utf-8

See the logo below.
--alt
Content-Type: multipart/related; boundary="rel"

--rel
Content-Type: text/html; charset=utf-8

<p>See the logo <img src="cid:logo@x"></p>
--rel
Content-Type: image/png
Content-Transfer-Encoding: base64
Content-ID: <logo@x>
Content-Disposition: inline; filename="logo.png"

iVBORw0KGgoAAAANSUhEUg==
--rel--
--alt
Content-Type: text/calendar; method=REQUEST; charset=utf-8

BEGIN:VCALENDAR
END:VCALENDAR
--alt--
--outer
Content-Type: text/csv; name="data.csv"
Content-Disposition: attachment; filename="data.csv"

a,b
1,2
--outer
Content-Type: text/plain; charset=utf-8
Content-Disposition: attachment; filename="notes.txt"

not a body
--outer--
)");
    Parsed p = parsed_of(raw);
    CHECK(p.text == "See the logo below.");
    CHECK(p.html == "<p>See the logo <img src=\"cid:logo@x\"></p>");
    REQUIRE(p.attachments.size() == 4);
    CHECK(p.attachments[0].content_type == "image/png");
    CHECK(p.attachments[0].filename == "logo.png");
    CHECK(p.attachments[0].content_id == "logo@x");
    CHECK(p.attachments[0].inline_disposition);
    CHECK(p.attachments[0].size == 16);
    CHECK(p.attachments[1].content_type == "text/calendar");
    CHECK(p.attachments[1].filename.empty());
    CHECK(p.attachments[2].content_type == "text/csv");
    CHECK(p.attachments[2].filename == "data.csv");
    CHECK(p.attachments[3].filename == "notes.txt");
    CHECK(p.attachments[1].charset == "utf-8");
    CHECK(p.attachments[2].charset.empty());
    CHECK(p.attachments[3].charset == "utf-8");
    for (std::size_t i = 0; i < p.attachments.size(); ++i) CHECK(p.attachments[i].index == i);

    auto notes = attachment(raw, 3);
    REQUIRE(notes);
    std::string nl = raw.find('\r') != std::string::npos ? "\r\n" : "\n";
    CHECK(notes->data == "not a body");
    auto csv = attachment(raw, 2);
    REQUIRE(csv);
    CHECK(csv->data == "a,b" + nl + "1,2");
    CHECK(csv->meta.size == csv->data.size());
    CHECK(p.attachments[2].size == csv->data.size());
}

TEST_CASE("message/rfc822 is an attachment, not part of the body", "[mime]") {
    std::string raw = line_ends(R"(From: a@example.com
Subject: Fwd: original
Content-Type: multipart/mixed; boundary="m"

--m
Content-Type: text/plain

Forwarding this.
--m
Content-Type: message/rfc822
Content-Disposition: attachment; filename="original.eml"

From: c@example.com
Subject: inner subject
Message-ID: <inner@example.com>

inner body text
--m--
)");
    Parsed p = parsed_of(raw);
    CHECK(p.text == "Forwarding this.");
    CHECK(p.summary.message_id.empty());
    REQUIRE(p.attachments.size() == 1);
    CHECK(p.attachments[0].content_type == "message/rfc822");
    CHECK(p.attachments[0].filename == "original.eml");
    auto inner = attachment(raw, 0);
    REQUIRE(inner);
    CHECK(inner->data.find("Subject: inner subject\r\n") != std::string::npos);
    CHECK(inner->data.find("inner body text") != std::string::npos);
    CHECK(inner->meta.size == inner->data.size());
    CHECK(p.attachments[0].size == inner->data.size());
    Summary s = summary_of(raw);
    CHECK(s.snippet == "Forwarding this.");
    CHECK(s.subject == "Fwd: original");
    CHECK(s.has_attachments);
}

TEST_CASE("several inline text parts are joined with a blank line", "[mime]") {
    std::string raw = R"(From: a@example.com
Content-Type: multipart/mixed; boundary=b

--b
Content-Type: text/plain

First part.
--b
Content-Type: image/jpeg
Content-Disposition: inline
Content-Transfer-Encoding: base64

/9j/
--b
Content-Type: text/plain

--b
Content-Type: text/plain; charset=iso-8859-1
Content-Disposition: inline

Second part, caf=E9.
--b--
)";
    Parsed p = parsed_of(raw);
    CHECK(p.text == "First part.\n\nSecond part, caf=E9.");
    REQUIRE(p.attachments.size() == 1);
    CHECK(p.attachments[0].content_type == "image/jpeg");
    CHECK(p.attachments[0].size == 3);
    CHECK(p.summary.snippet == "First part. Second part, caf=E9.");
    CHECK(summary_of(raw).snippet == p.summary.snippet);
}

TEST_CASE("the signature of multipart/signed is not an attachment", "[mime]") {
    std::string raw = R"(From: a@example.com
Content-Type: multipart/signed; protocol="application/pgp-signature"; micalg=pgp-sha256;
 boundary="s"

--s
Content-Type: text/plain

Signed text.
--s
Content-Type: application/pgp-signature; name="signature.asc"

-----BEGIN PGP SIGNATURE-----
-----END PGP SIGNATURE-----
--s--
)";
    Parsed p = parsed_of(raw);
    CHECK(p.text == "Signed text.");
    CHECK(p.attachments.empty());
}

TEST_CASE("Date: missing or unreadable gives no date", "[mime]") {
    auto [date_line, expected] = GENERATE(table<std::string, std::optional<std::int64_t>>({
        {"", std::nullopt},
        {"Date: yesterday-ish\n", std::nullopt},
        {"Date: Thu, 1 Jan 1970 00:00:01 +0000\n", 1000},
        {"Date: 5 Nov 2024 09:15:00 -0500 (EST)\n", 1730816100000},
        // A leap second (RFC 5322 §3.3) is read as second 59.
        {"Date: Sat, 31 Dec 2016 23:59:60 +0000\n", 1483228799000},
        {"Date: Sat, 30 Jun 2012 19:59:60 -0400\n", 1341100799000},
        {"Date: Sat, 31 Dec 2016 23:59:61 +0000\n", std::nullopt},
    }));
    std::string raw = "From: a@example.com\n" + date_line + "Subject: s\n\nbody\n";
    auto got = summary_of(raw).date_ms;
    CAPTURE(date_line, got.value_or(-1));
    CHECK(got == expected);
}

TEST_CASE("input that is not a message still summarizes", "[mime]") {
    SECTION("text with no headers") {
        Summary s = summary_of("hello world\nsecond line\n");
        CHECK(s.snippet == "hello world second line");
        CHECK(s.subject.empty());
        CHECK(s.from.empty());
        CHECK_FALSE(s.date_ms);
        Parsed p = parsed_of("hello world\nsecond line\n");
        CHECK(p.headers.empty());
        CHECK(p.text == "hello world\nsecond line\n");
    }
    SECTION("empty") {
        Summary s = summary_of("");
        CHECK(s.snippet.empty());
        CHECK(s.message_id.empty());
    }
    SECTION("binary junk, truncated multiparts, broken headers") {
        std::vector<std::string> junk = {
            std::string("\x00\x01\x02\xFF\xFE\x80", 6),
            "Subject: no body or end of line",
            "Content-Type: multipart/mixed; boundary=x\n\n--x\nContent-Type: text/plain\n\ncut",
            "Content-Type: multipart/mixed\n\nno boundary at all\n",
            "From: <<<@@@>>>\nTo: ,,,;;;\nDate: 99 Foo 99999 99:99:99 +9999\nSubject: =?x?q?\n\n",
            "Content-Type: text/plain; charset=\"\"\nContent-Transfer-Encoding: base64\n\n!!!@@@",
            "Content-Type: text/html\n\n<scr<script>ipt>&#xFFFFFFFF;&#0;&#55296;<!-- never ends",
            std::string(5000, '\n'),
        };
        for (const auto& raw : junk) {
            auto s = summarize(raw);
            REQUIRE(s);
            CHECK(valid_utf8(s->snippet));
            CHECK(valid_utf8(s->subject));
            auto p = parse(raw);
            REQUIRE(p);
            CHECK(valid_utf8(p->text));
            CHECK(valid_utf8(p->html));
            CHECK(p->summary.snippet == s->snippet);
            CHECK_FALSE(attachment(raw, 7));
        }
        CHECK(summary_of(junk[2]).snippet == "cut");
    }
}

TEST_CASE("an HTML-only message gets a snippet from its visible text", "[mime]") {
    std::string raw = line_ends(R"(From: a@example.com
Content-Type: text/html; charset=utf-8

<!DOCTYPE html>
<html><head><title>Ignore me</title>
<style type="text/css">p { color: red; } /* <b>not text</b> */</style>
<script>var x = "<p>nope</p>";</script></head>
<body><!-- hidden comment --><div>Hello&nbsp;<b>World</b>&#33;</div><p>Tom &amp; Jerry &lt;3 &eacute;t&#xE9; a < b</p>
<a href="x" title="a > b">link</a>&unknown; &zwnj;&zwnj;done</body></html>
)");
    Parsed p = parsed_of(raw);
    CHECK(p.text.empty());
    CHECK(p.summary.snippet == "Hello World! Tom & Jerry <3 été a < b link&unknown; done");
    CHECK(summary_of(raw).snippet == p.summary.snippet);
}

TEST_CASE("snippet stops at 200 code points, never inside one", "[mime]") {
    SECTION("two-byte characters") {
        std::string body;
        for (int i = 0; i < 300; ++i) body += "é";
        std::string raw = "Content-Type: text/plain; charset=utf-8\n\n" + body + "\n";
        Summary s = summary_of(raw);
        CHECK(code_points(s.snippet) == 200);
        CHECK(s.snippet.size() == 400);
        CHECK(valid_utf8(s.snippet));
    }
    SECTION("four-byte characters across decode chunks") {
        // 4094 spaces put the first U+1F600 across the 4096-byte read boundary.
        std::string body(4094, ' ');
        for (int i = 0; i < 300; ++i) body += "\xF0\x9F\x98\x80 ";
        std::string raw = "Content-Type: text/plain; charset=utf-8\n\n" + body;
        Summary s = summary_of(raw);
        CHECK(code_points(s.snippet) == 199);  // a space cannot be the 200th character
        CHECK(s.snippet.substr(0, 5) == "\xF0\x9F\x98\x80 ");
        CHECK(s.snippet.substr(s.snippet.size() - 4) == "\xF0\x9F\x98\x80");
        CHECK(parsed_of(raw).summary.snippet == s.snippet);
    }
    SECTION("whitespace runs collapse before counting") {
        std::string body;
        for (int i = 0; i < 150; ++i) body += "ab \t\n\n  ";
        Summary s = summary_of("Subject: x\n\n" + body);
        CHECK(code_points(s.snippet) == 200);
        CHECK(s.snippet.substr(0, 9) == "ab ab ab ");
        CHECK(s.snippet.back() == 'b');
    }
    SECTION("base64 text decoded through several 4 KiB reads") {
        std::string body;
        for (int i = 0; i < 700; ++i) body += "w6nDqcOp\n";  // each line decodes to ééé
        std::string raw =
            "Content-Type: text/plain; charset=utf-8\n"
            "Content-Transfer-Encoding: base64\n\n" +
            body;
        Summary s = summary_of(raw);
        CHECK(code_points(s.snippet) == 200);
        CHECK(s.snippet.substr(0, 4) == "éé");
    }
}

TEST_CASE("normalize_subject removes reply prefixes and list tags", "[mime]") {
    auto [subject, expected] = GENERATE(table<std::string, std::string>({
        {"Quarterly report", "quarterly report"},
        {"Re: Quarterly report", "quarterly report"},
        {"RE: RE: Fwd: FW: Quarterly   report", "quarterly report"},
        {"Re[2]: Quarterly report", "quarterly report"},
        {"Re(3):Quarterly report", "quarterly report"},
        {"AW: SV: VS: Antw: WG: Quarterly report", "quarterly report"},
        {"Fw: [team-list] Re: [team-list] Quarterly report", "quarterly report"},
        {"[PATCH v2] Re: fix", "fix"},
        {"  re :  spaced  out ", "spaced out"},
        {"回复：会议", "会议"},
        {"Re: Grüße AUS MÜNCHEN", "grüsse aus münchen"},
        {"Réunion", "réunion"},
        {"Recap: meeting", "recap: meeting"},
        {"Re:", "re:"},
        {"[only-a-tag]", "[only-a-tag]"},
        {"Re: [unclosed tag", "[unclosed tag"},
        {"", ""},
    }));
    CHECK(normalize_subject(subject) == expected);
}

TEST_CASE("summarize is safe from several threads", "[mime]") {
    std::vector<std::string> inputs = {kPlain, crlf(kMixedPdf)};
    std::vector<std::thread> threads;
    std::vector<int> failures(4, 0);
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 200; ++i) {
                auto s = summarize(inputs[(i + t) % 2]);
                if (!s || s->from.empty()) ++failures[t];
            }
        });
    }
    for (auto& th : threads) th.join();
    CHECK(failures == std::vector<int>(4, 0));
}

TEST_CASE("text bodies are made valid UTF-8 byte for byte, whatever the alignment", "[mime]") {
    // Plain ASCII is skipped eight bytes at a time; a NUL, a stray high byte or a sequence can
    // sit at any offset of such a word and must still be seen.
    const std::string euro = "\xE2\x82\xAC", replacement = "\xEF\xBF\xBD", e_acute = "\xC3\xA9";
    for (std::size_t lead = 0; lead < 9; ++lead) {
        const std::string pad(lead, 'a');
        const std::string body = pad + "0123456789" + std::string(1, '\0') + "xyz" + "\x80" +
                                 "plain ascii text" + e_acute + "tail\xF0\x9F" + "end\n";
        Parsed p = parsed_of("Content-Type: text/plain; charset=utf-8\n\n" + body);
        CHECK(p.text == pad + "0123456789" + replacement + "xyz" + euro + "plain ascii text" +
                            e_acute + "tail" + "\xC3\xB0\xC5\xB8" + "end\n");
    }
}

TEST_CASE("header fields are read as written, folds and all", "[mime]") {
    const std::string m =
        "Subject: one\r\n two\r\nnot a field\r\nBcc : x@example.org\r\nX-Empty:\r\n\r\nBody: "
        "no\r\n";
    auto fields = postern::mime::header_fields(m);
    REQUIRE(fields.size() == 3);
    CHECK(fields[0].name == "Subject");
    CHECK(fields[0].value == " one\r\n two");
    CHECK(postern::mime::raw_field(m, fields[0]) == "Subject: one\r\n two");
    CHECK(fields[1].name == "Bcc");  // blanks before the colon removed
    CHECK(postern::mime::raw_field(m, fields[1]) == "Bcc : x@example.org");
    CHECK(fields[2].name == "X-Empty");
    CHECK(fields[2].value.empty());
    CHECK(m.substr(fields[2].end, 2) == "\r\n");  // the body is not read
    CHECK(postern::mime::unfold(fields[0].value) == " one two");
    // Fields removed by name, case-insensitively, folds and all; the rest byte for byte.
    CHECK(postern::mime::without_fields(m, {"bcc", "SUBJECT"}) ==
          "not a field\r\nX-Empty:\r\n\r\nBody: no\r\n");
    CHECK(postern::mime::without_fields(m, {"To"}) == m);
    // In place, by predicate: the count, and nothing touched when nothing matches.
    std::string in_place(m);
    auto named = [](std::string_view name) {
        return [name](const postern::mime::HeaderField& f) {
            return postern::iequals_ascii(f.name, name);
        };
    };
    CHECK(postern::mime::erase_fields_if(in_place, named("To")) == 0);
    CHECK(in_place == m);
    CHECK(postern::mime::erase_fields_if(in_place, named("bcc")) == 1);
    CHECK(in_place == "Subject: one\r\n two\r\nnot a field\r\nX-Empty:\r\n\r\nBody: no\r\n");
}

TEST_CASE("parts nested deeper than the walk are one attachment, not lost", "[mime]") {
    // 100 levels of multipart/mixed, then a text part and an executable.
    std::string raw =
        "From: a@example.com\r\nSubject: deep\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=b0\r\n\r\n";
    std::string tail;
    for (int i = 0; i < 100; ++i) {
        raw += "--b" + std::to_string(i) + "\r\nContent-Type: multipart/mixed; boundary=b" +
               std::to_string(i + 1) + "\r\n\r\n";
        tail = "--b" + std::to_string(i) + "--\r\n" + tail;
    }
    raw +=
        "--b100\r\nContent-Type: text/plain\r\n\r\ndeep text\r\n"
        "--b100\r\nContent-Type: application/x-msdownload; name=payload.exe\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\nTVqQAA==\r\n--b100--\r\n" +
        tail;
    auto summary = summarize(raw);
    REQUIRE(summary);
    CHECK(summary->has_attachments);
    auto parsed = parse(raw);
    REQUIRE(parsed);
    REQUIRE(parsed->attachments.size() == 1);
    CHECK(parsed->attachments[0].content_type == "multipart/mixed");
    auto content = attachment(raw, 0);
    REQUIRE(content);
    CHECK(content->data.find("payload.exe") != std::string::npos);
    CHECK(content->data.find("deep text") != std::string::npos);
    CHECK(parsed->attachments[0].size == content->data.size());
}

TEST_CASE("a multipart without a boundary reads as its text, not as nothing", "[mime]") {
    // RFC 2046 §5.1.1 requires the boundary; without one there are no parts to find, and the
    // body is all GMime keeps (as the prologue). Mail clients show it as text; so do we.
    std::string raw =
        "From: a@example.com\r\nSubject: no boundary\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; charset=windows-1252\r\n\r\n"
        "Caf\xe9 at noon?\r\nSecond line.\r\n";
    auto summary = summarize(raw);
    REQUIRE(summary);
    CHECK(summary->snippet == "Café at noon? Second line.");
    CHECK_FALSE(summary->has_attachments);
    auto parsed = parse(raw);
    REQUIRE(parsed);
    CHECK(parsed->text == "Café at noon?\nSecond line.\n");
    CHECK(parsed->attachments.empty());
    // With a boundary that never appears, the body is the prologue too: still text.
    std::string unmatched =
        "From: a@example.com\r\nSubject: wrong boundary\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/alternative; boundary=\"never\"\r\n\r\nJust text.\r\n";
    auto other = parse(unmatched);
    REQUIRE(other);
    CHECK(other->text == "Just text.\n");
}

TEST_CASE("first_malformed_header_line finds a body that landed in the header section", "[mime]") {
    CHECK(first_malformed_header_line("Subject: a\r\nTo: b@example.com\r\n\r\nbody\r\n") == 0);
    CHECK(first_malformed_header_line("Subject: a\r\n  folded\r\n") == 0);
    CHECK(first_malformed_header_line("Subject : obsolete blank before the colon\r\n") == 0);
    CHECK(first_malformed_header_line("Subject: only, no CRLF") == 0);
    CHECK(first_malformed_header_line("\r\nbody only\r\n") == 0);  // no header section at all
    CHECK(first_malformed_header_line("hello world\r\nsecond line\r\n") == 1);
    CHECK(first_malformed_header_line(" folded first\r\nSubject: a\r\n") == 1);
    CHECK(first_malformed_header_line("Subject: a\r\nnot a field\r\n\r\n") == 2);
    CHECK(first_malformed_header_line("Subject: a\r\n: no name\r\n") == 2);
    CHECK(first_malformed_header_line("From x@y.example Mon Jan  1 12:00:00 2026\r\n") == 1);
    CHECK(first_malformed_header_line("Sub\xc3\xa9ject: a\r\n") == 1);  // names are ASCII
    CHECK(first_malformed_header_line("Subject: a\r\n\r\nnot a field, but in the body\r\n") == 0);
}

TEST_CASE("summarize keeps every bracketed id of References when one cannot be read", "[mime]") {
    Summary s = summary_of(
        "Message-ID: <m@x>\r\nReferences: <a@b> <broken> <c@d>\r\nIn-Reply-To: stray <c@d>\r\n"
        "Subject: s\r\n\r\nbody\r\n");
    CHECK(s.references == std::vector<std::string>{"a@b", "broken", "c@d"});
    CHECK(s.in_reply_to == "c@d");
    s = summary_of("Message-ID: <m@x>\r\nReferences: <a@b> (a comment) <c@d>\r\n\r\nbody\r\n");
    CHECK(s.references == std::vector<std::string>{"a@b", "c@d"});
}

TEST_CASE("the snippet is the same wherever the text starts in the part", "[mime]") {
    // summarize() reads text parts a KiB of the encoded part at a time for the snippet and stops
    // once it has 200 characters; parse() reads them whole. The text below is longer than the
    // snippet and full of multi-byte characters. The padding before it moves its start one byte
    // at a time across the first read boundary (1,024 bytes of the encoded part: the =XX
    // escapes and the base64 quanta straddle it in every position), and past the third.
    std::string text;
    while (text.size() < 400)
        text +=
            "Caf\xC3\xA9 \xE2\x82\xAC"
            "10 \xF0\x9F\x98\x80 done ";
    auto encoded = GENERATE(as<std::string>{}, "8bit", "quoted-printable", "base64");
    // Where the text starts in the encoded part: the padding itself for 8bit and
    // quoted-printable; about 4/3 of it, and the line breaks, for base64.
    const bool b64 = encoded == "base64";
    std::vector<std::size_t> paddings;
    for (std::size_t p = b64 ? 735 : 1010; p <= (b64 ? 775 : 1030); ++p) paddings.push_back(p);
    for (std::size_t p = b64 ? 2290 : 3066; p <= (b64 ? 2300 : 3076); ++p) paddings.push_back(p);
    for (std::size_t padding : paddings) {
        std::string body;  // exactly `padding` bytes of spaces and line breaks
        while (body.size() < padding)
            body += (body.size() % 40 == 38 && body.size() + 2 <= padding) ? "\r\n" : " ";
        body += text + "\r\n";
        std::string wire;
        if (b64) {
            std::string all = base64_encode(body);
            for (std::size_t i = 0; i < all.size(); i += 76) wire += all.substr(i, 76) + "\r\n";
        } else if (encoded == "quoted-printable") {
            static const char* hex = "0123456789ABCDEF";
            for (unsigned char c : body) {
                if (c < 0x80) {
                    wire += static_cast<char>(c);
                } else {
                    wire += '=';
                    wire += hex[c >> 4];
                    wire += hex[c & 15];
                }
            }
        } else {
            wire = body;
        }
        const std::string raw =
            "From: a@example.com\r\nSubject: s\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: " +
            encoded + "\r\n\r\n" + wire;
        CAPTURE(encoded, padding);
        Summary s = summary_of(raw);
        CHECK(
            s.snippet.starts_with("Caf\xC3\xA9 \xE2\x82\xAC"
                                  "10 \xF0\x9F\x98\x80 done Caf"));
        CHECK(code_points(s.snippet) >= 190);
        CHECK(parsed_of(raw).summary.snippet == s.snippet);
    }
}
