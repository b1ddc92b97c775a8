// The header section as mail authentication reads it: fields, From values, and the removal of
// Authentication-Results fields that claim our authserv-id (RFC 8601 §5).
#include <catch2/catch.hpp>
#include <string>

#include "smtpd/auth/header_fields.hpp"

using namespace postern::smtp::auth;

TEST_CASE("auth headers: fields, folding, and where the header section ends") {
    const std::string m =
        "Subject: one\r\n"
        "From : Alice\r\n"
        "\t<alice@example.com>\r\n"
        "not a field\r\n"
        "X-Late: after a broken line\r\n"
        "\r\n"
        "From: body@example.org\r\n";
    auto fields = header_fields(m);
    REQUIRE(fields.size() == 3);
    CHECK(fields[0].name == "Subject");
    CHECK(fields[0].value == " one");
    CHECK(fields[1].name == "From");  // blanks before the colon dropped (obsolete syntax)
    CHECK(fields[1].value == " Alice\r\n\t<alice@example.com>");
    CHECK(m.substr(fields[1].begin, fields[1].end - fields[1].begin) ==
          "From : Alice\r\n\t<alice@example.com>\r\n");
    CHECK(unfold(fields[1].value) == " Alice\t<alice@example.com>");
    CHECK(fields[2].name == "X-Late");  // a broken line does not end the header section

    auto h = auth_headers(m);
    REQUIRE(h.from.size() == 1);  // the From in the body is not a header field
    CHECK(h.from[0] == " Alice\t<alice@example.com>");
    CHECK_FALSE(h.dkim_signed);
    CHECK(auth_headers("DKIM-Signature: v=1\r\nFrom: a@b.example\r\n\r\nx\r\n").dkim_signed);
    CHECK(header_fields("").empty());
    CHECK(header_fields("\r\nFrom: a@b.example\r\n").empty());  // no header section at all
    CHECK(header_fields("From: a@b.example").size() == 1);      // no CRLF at the end
}

TEST_CASE("auth headers: the authserv-id of an Authentication-Results value") {
    auto [value, id] = GENERATE(table<std::string, std::string>({
        {" mx.test; spf=pass", "mx.test"},
        {" mx.test 1; none", "mx.test"},  // with a version
        {" (our MX) mx.test; none", "mx.test"},
        {" \"mx.test\"; none", "mx.test"},
        {"mx.test;spf=pass", "mx.test"},
        {"\r\n\tmx.test;\r\n\tspf=pass", "mx.test"},
        {" ; spf=pass", ""},
        {"", ""},
    }));
    CHECK(authserv_id_of(value) == id);
}

TEST_CASE("auth headers: forged results claiming our authserv-id are removed, others kept") {
    std::string m =
        "Authentication-Results: MX.Postern.Test; dkim=pass header.d=bank.example\r\n"
        "Received: from x\r\n"
        "Authentication-Results: other.example; spf=fail\r\n"
        "authentication-results : (forged)\r\n"
        "  mx.postern.test;\r\n"
        "  dmarc=pass\r\n"
        "Authentication-Results: mx.postern.test.evil.example; spf=pass\r\n"
        "Authentication-Results: mx.postern.test.; dkim=pass (the root dot)\r\n"
        "Subject: hi\r\n"
        "\r\n"
        "Authentication-Results: mx.postern.test; in the body, not a field\r\n";
    CHECK(remove_forged_results(m, "mx.postern.test") == 3);
    CHECK(m ==
          "Received: from x\r\n"
          "Authentication-Results: other.example; spf=fail\r\n"
          "Authentication-Results: mx.postern.test.evil.example; spf=pass\r\n"
          "Subject: hi\r\n"
          "\r\n"
          "Authentication-Results: mx.postern.test; in the body, not a field\r\n");
    CHECK(remove_forged_results(m, "mx.postern.test") == 0);
}

TEST_CASE("auth headers: many forged fields are removed in one pass") {
    std::string m;
    for (int i = 0; i < 200000; ++i) m += "Authentication-Results: mx.test; x\r\nX: y\r\n";
    m += "\r\nbody\r\n";
    CHECK(remove_forged_results(m, "mx.test") == 200000);  // quadratic erasing would time out
    CHECK(m.size() == 200000 * 6 + 8);
    CHECK(m.substr(m.size() - 8) == "\r\nbody\r\n");
}
