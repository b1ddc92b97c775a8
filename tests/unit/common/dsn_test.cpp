#include "common/dsn.hpp"

#include <catch2/catch.hpp>

#include "common/mime.hpp"

using namespace postern;

TEST_CASE("status_of takes the enhanced status code of a reply, or the class default", "[dsn]") {
    auto [reply, cls, want] = GENERATE(table<std::string, char, std::string>({
        {"550 5.1.1 no such user", '5', "5.1.1"},
        {"550-5.7.26 unauthenticated", '5', "5.7.26"},
        {"451 4.3.0 later", '4', "4.3.0"},
        {"550 mailbox unavailable", '5', "5.0.0"},
        {"421 closing", '4', "4.0.0"},
        {"connection lost", '4', "4.0.0"},
        {"550 5.1", '5', "5.0.0"},
        {"550 5.1.1x", '5', "5.0.0"},
    }));
    CHECK(dsn::status_of(reply, cls) == want);
}

TEST_CASE("a bounce is an RFC 3464 multipart/report with the original headers", "[dsn]") {
    dsn::Request r;
    r.reporting_mta = "mx.example.com";
    r.to = "agent@example.com";
    r.original =
        "From: agent@example.com\r\nTo: x@dest.test\r\nSubject: Quarterly\r\n\r\nsecret body\r\n";
    r.arrival_ms = 1'700'000'000'000;
    r.now_ms = 1'700'000'100'000;
    r.recipients.push_back(
        {"x@dest.test", "5.1.1", "mx.dest.test", "550 5.1.1 no such user", 1'700'000'100'000});
    auto raw = dsn::build(r);
    REQUIRE(raw);
    CHECK(raw->find("\r\n") != std::string::npos);
    CHECK(raw->find("\n") == raw->find("\r\n") + 1);
    CHECK(raw->find("multipart/report") != std::string::npos);
    CHECK(raw->find("report-type=delivery-status") != std::string::npos);
    CHECK(raw->find("Content-Type: message/delivery-status") != std::string::npos);
    CHECK(raw->find("Content-Type: text/rfc822-headers") != std::string::npos);
    CHECK(raw->find("Reporting-MTA: dns; mx.example.com") != std::string::npos);
    CHECK(raw->find("Final-Recipient: rfc822; x@dest.test") != std::string::npos);
    CHECK(raw->find("Action: failed") != std::string::npos);
    CHECK(raw->find("Status: 5.1.1") != std::string::npos);
    CHECK(raw->find("Diagnostic-Code: smtp; 550 5.1.1 no such user") != std::string::npos);
    CHECK(raw->find("Subject: Quarterly") != std::string::npos);
    CHECK(raw->find("secret body") == std::string::npos);  // headers only
    CHECK(raw->find("Auto-Submitted: auto-replied") != std::string::npos);

    auto parsed = mime::parse(*raw);
    REQUIRE(parsed);
    CHECK(parsed->summary.subject == "Undelivered Mail Returned to Sender");
    REQUIRE(parsed->summary.to.size() == 1);
    CHECK(parsed->summary.to[0].address == "agent@example.com");
    CHECK(parsed->summary.from[0].address == "MAILER-DAEMON@mx.example.com");
    CHECK(parsed->text.find("x@dest.test") != std::string::npos);
}

TEST_CASE("Remote-MTA names the host of a configured route, without its port", "[dsn]") {
    auto remote_mta = [](const std::string& host) {
        dsn::Request r;
        r.reporting_mta = "mx.example.com";
        r.to = "agent@example.com";
        r.original = "Subject: s\r\n\r\nb\r\n";
        r.recipients.push_back({"x@dest.test", "5.1.1", host, "550 5.1.1 no", 0});
        auto raw = dsn::build(r);
        REQUIRE(raw);
        auto at = raw->find("Remote-MTA: dns; ");
        REQUIRE(at != std::string::npos);
        at += 17;
        return raw->substr(at, raw->find("\r\n", at) - at);
    };
    CHECK(remote_mta("mx.dest.test") == "mx.dest.test");
    CHECK(remote_mta("127.0.0.1:2525") == "127.0.0.1");
    CHECK(remote_mta("relay.example:587") == "relay.example");
    CHECK(remote_mta("[2001:db8::1]:25") == "2001:db8::1");
    CHECK(remote_mta("2001:db8::25") == "2001:db8::25");
}

TEST_CASE("a delay report says delayed and until when it is retried", "[dsn]") {
    dsn::Request r;
    r.delay = true;
    r.reporting_mta = "mx.example.com";
    r.to = "agent@example.com";
    r.original = "Subject: s\r\n\r\nb\r\n";
    r.retry_until_ms = 1'700'400'000'000;
    r.recipients.push_back({"x@dest.test", "4.4.1", "", "451 4.4.1 no answer", 0});
    auto raw = dsn::build(r);
    REQUIRE(raw);
    CHECK(raw->find("Action: delayed") != std::string::npos);
    CHECK(raw->find("Will-Retry-Until:") != std::string::npos);
    CHECK(raw->find("Remote-MTA") == std::string::npos);
    dsn::Request none;
    CHECK_FALSE(dsn::build(none));
}
