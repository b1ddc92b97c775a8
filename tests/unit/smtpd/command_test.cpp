// The command-line parser: verbs, MAIL/RCPT paths and ESMTP parameters, HELO names.
#include "smtpd/proto/command.hpp"

#include <catch2/catch.hpp>

using namespace postern::smtp;

TEST_CASE("command: verbs") {
    auto [line, verb, arg] = GENERATE(table<std::string, Verb, std::string>({
        {"EHLO client.test", Verb::ehlo, "client.test"},
        {"helo  client.test  ", Verb::helo, "client.test"},
        {"MAIL FROM:<a@b.test>", Verb::mail, "FROM:<a@b.test>"},
        {"rcpt TO:<a@b.test>", Verb::rcpt, "TO:<a@b.test>"},
        {"DATA", Verb::data, ""},
        {"RSET", Verb::rset, ""},
        {"NOOP x", Verb::noop, "x"},
        {"QUIT", Verb::quit, ""},
        {"HELP MAIL", Verb::help, "MAIL"},
        {"VRFY alice", Verb::vrfy, "alice"},
        {"EXPN list", Verb::expn, "list"},
        {"STARTTLS", Verb::starttls, ""},
        {"AUTH PLAIN", Verb::auth, "PLAIN"},
        {"BDAT 1 LAST", Verb::bdat, "1 LAST"},
        {"TURN", Verb::turn, ""},
        {"ETRN x", Verb::etrn, "x"},
        {"MAILX FROM:<>", Verb::unknown, "FROM:<>"},
        {"", Verb::unknown, ""},
        {" NOOP", Verb::unknown, "NOOP"},
        {"DAT", Verb::unknown, ""},
    }));
    CAPTURE(line);
    Command c = parse_command(line);
    CHECK(c.verb == verb);
    CHECK(c.arg == arg);
}

TEST_CASE("command: MAIL and RCPT paths") {
    auto [arg, ok, mailbox, nparams] = GENERATE(table<std::string, bool, std::string, int>({
        {"FROM:<a@b.test>", true, "a@b.test", 0},
        {"from:<a@b.test>", true, "a@b.test", 0},
        {"FROM:<>", true, "", 0},
        {"FROM: <a@b.test>", true, "a@b.test", 0},
        {"FROM:<\"john doe\"@b.test>", true, "\"john doe\"@b.test", 0},
        {"FROM:<\"a>b\"@b.test>", true, "\"a>b\"@b.test", 0},
        {"FROM:<\"a\\\"b\"@b.test>", true, "\"a\\\"b\"@b.test", 0},
        {"FROM:<@r.test:a@b.test>", true, "a@b.test", 0},
        {"FROM:<@r.test,@s.test:a@b.test>", true, "a@b.test", 0},
        {"FROM:<a@b.test> SIZE=10 BODY=8BITMIME SMTPUTF8", true, "a@b.test", 3},
        {"FROM:<a@b.test>  SIZE=10", true, "a@b.test", 1},
        {"FROM:<a@b.test> X-FOO", true, "a@b.test", 1},
    }));
    CAPTURE(arg);
    auto r = parse_path_argument(arg, "FROM:");
    REQUIRE(r.has_value() == ok);
    CHECK(r->mailbox == mailbox);
    CHECK(r->params.size() == static_cast<std::size_t>(nparams));
}

TEST_CASE("command: malformed MAIL and RCPT arguments") {
    auto [arg, error] = GENERATE(table<std::string, ArgError>({
        {"", ArgError::syntax},
        {"FRM:<a@b.test>", ArgError::syntax},
        {"FROM <a@b.test>", ArgError::syntax},
        {"FROM:", ArgError::path},
        {"FROM:a@b.test", ArgError::path},
        {"FROM:<a@b.test", ArgError::path},
        {"FROM:<a b@b.test>", ArgError::path},
        {"FROM:<a<b@b.test>", ArgError::path},
        {"FROM:<\"open@b.test>", ArgError::path},
        {"FROM:<@r.test>", ArgError::path},
        {"FROM:<@r.test:>", ArgError::path},
        {std::string("FROM:<a\x01@b.test>"), ArgError::path},
        {"FROM:<a@b.test>SIZE=1", ArgError::syntax},
        {"FROM:<a@b.test> SIZE=", ArgError::syntax},
        {"FROM:<a@b.test> =1", ArgError::syntax},
        {"FROM:<a@b.test> SIZE==1", ArgError::syntax},
        {"FROM:<a@b.test> -X=1", ArgError::syntax},
        {"FROM:<a@b.test> X_Y=1", ArgError::syntax},
    }));
    CAPTURE(arg);
    auto r = parse_path_argument(arg, "FROM:");
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == error);
}

TEST_CASE("command: parameters") {
    auto r = parse_path_argument("TO:<x@y.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;x@y.test RET",
                                 "TO:");
    REQUIRE(r);
    REQUIRE(r->params.size() == 3);
    CHECK(r->params[0].keyword == "NOTIFY");
    CHECK(r->params[0].value == "SUCCESS,FAILURE");
    CHECK(r->params[0].has_value);
    CHECK(r->params[1].value == "rfc822;x@y.test");
    CHECK(r->params[2].keyword == "RET");
    CHECK_FALSE(r->params[2].has_value);
}

TEST_CASE("command: HELO names") {
    auto [name, ok] = GENERATE(table<std::string, bool>({
        {"client.test", true},
        {"localhost", true},
        {"my_host.local", true},
        {"bücher.test", true},
        {"[192.0.2.1]", true},
        {"[IPv6:2001:db8::1]", true},
        {"", false},
        {"[]", false},
        {"[1.2.3.4", false},
        {"a b", false},
        {"bad(name)", false},
        {"semi;colon", false},
        {"<x>", false},
        {std::string(256, 'a'), false},
    }));
    CAPTURE(name);
    CHECK(is_valid_helo_name(name) == ok);
}
