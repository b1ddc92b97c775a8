// The SMTP state machine, driven by raw protocol text. Every conversation runs with several chunk
// sizes: the replies must not depend on how TCP happened to split the bytes.
#include <catch2/catch.hpp>

#include "session_driver.hpp"

using namespace postern::smtp;
using namespace postern::smtp::test;

namespace {

const std::string kHello = "EHLO client.test\r\n";
const std::string kEnvelope =
    "EHLO client.test\r\nMAIL FROM:<sender@remote.test>\r\nRCPT TO:<alice@example.com>\r\nDATA\r\n";
const std::string kEnvelopeCodes = "220|250|250 2.1.0|250 2.1.5|354";
const std::string kBody = "Subject: hi\r\n\r\nHello.\r\n";

struct Case {
    const char* name;
    std::string input;
    std::string expect;  // codes() of every reply, greeting included
    std::size_t stored;  // messages handed to storage
};

// The bad-input table of the issue, and the ordinary conversations around it.
std::vector<Case> cases() {
    return {
        {"one message", kEnvelope + kBody + ".\r\nQUIT\r\n",
         kEnvelopeCodes + "|250 2.0.0|221 2.0.0", 1},
        {"HELO instead of EHLO",
         "HELO client.test\r\nMAIL FROM:<>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n" + kBody +
             ".\r\nQUIT\r\n",
         "220|250|250 2.1.0|250 2.1.5|354|250 2.0.0|221 2.0.0", 1},
        {"two transactions on one connection",
         kEnvelope + kBody + ".\r\nMAIL FROM:<>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n" + kBody +
             ".\r\nQUIT\r\n",
         kEnvelopeCodes + "|250 2.0.0|250 2.1.0|250 2.1.5|354|250 2.0.0|221 2.0.0", 2},
        {"command line over 512 octets", kHello + "NOOP " + std::string(600, 'x') + "\r\nNOOP\r\n",
         "220|250|500 5.5.2|250 2.0.0", 0},
        {"command line of exactly 512 octets", kHello + "NOOP " + std::string(505, 'x') + "\r\n",
         "220|250|250 2.0.0", 0},
        {"command line of 513 octets", kHello + "NOOP " + std::string(506, 'x') + "\r\nNOOP\r\n",
         "220|250|500 5.5.2|250 2.0.0", 0},
        {"text line over 1000 octets in DATA",
         kEnvelope + std::string(999, 'a') + "\r\n.\r\nNOOP\r\n",
         kEnvelopeCodes + "|554 5.6.0|250 2.0.0", 0},
        {"text line of 998 octets in DATA", kEnvelope + std::string(998, 'a') + "\r\n.\r\n",
         kEnvelopeCodes + "|250 2.0.0", 1},
        {"message over SIZE", kEnvelope + std::string(1200, 'a') + "\r\n.\r\nNOOP\r\n",
         kEnvelopeCodes + "|554 5.6.0|250 2.0.0", 0},
        {"message over SIZE in short lines",
         kEnvelope +
             [] {
                 std::string s;
                 for (int i = 0; i < 40; ++i) s += std::string(40, 'b') + "\r\n";
                 return s;
             }() +
             ".\r\nNOOP\r\n",
         kEnvelopeCodes + "|552 5.3.4|250 2.0.0", 0},
        {"SIZE= over the limit", kHello + "MAIL FROM:<a@remote.test> SIZE=1001\r\n",
         "220|250|552 5.3.4", 0},
        {"SIZE= within the limit", kHello + "MAIL FROM:<a@remote.test> SIZE=1000\r\n",
         "220|250|250 2.1.0", 0},
        {"SIZE= absurdly large",
         kHello + "MAIL FROM:<a@remote.test> SIZE=999999999999999999999999\r\n",
         "220|250|552 5.3.4", 0},
        {"bare LF in DATA", kEnvelope + "Subject: x\n\nbody\r\n.\r\nNOOP\r\n",
         kEnvelopeCodes + "|554 5.6.0|250 2.0.0", 0},
        {"bare CR in DATA", kEnvelope + "Subject: x\r\rbody\r\n.\r\nNOOP\r\n",
         kEnvelopeCodes + "|554 5.6.0|250 2.0.0", 0},
        {"smuggling: LF.LF", kEnvelope + "a\r\n\n.\nMAIL FROM:<evil@x.test>\r\n.\r\nNOOP\r\n",
         kEnvelopeCodes + "|554 5.6.0|250 2.0.0", 0},
        {"smuggling: CRLF.LF",
         kEnvelope + "a\r\n.\nMAIL FROM:<evil@x.test>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n"
                     "b\r\n.\r\nNOOP\r\n",
         kEnvelopeCodes + "|554 5.6.0|250 2.0.0", 0},
        {"smuggling: LF.CRLF", kEnvelope + "a\n.\r\nMAIL FROM:<evil@x.test>\r\n.\r\nNOOP\r\n",
         kEnvelopeCodes + "|554 5.6.0|250 2.0.0", 0},
        {"smuggling: CR.CR", kEnvelope + "a\r.\rMAIL FROM:<evil@x.test>\r\n.\r\nNOOP\r\n",
         kEnvelopeCodes + "|554 5.6.0|250 2.0.0", 0},
        {"a folded first line (it would continue our Authentication-Results)",
         kEnvelope + " dkim=pass header.d=bank.example\r\nSubject: x\r\n\r\nb\r\n.\r\nNOOP\r\n",
         kEnvelopeCodes + "|554 5.6.0|250 2.0.0", 0},
        {"a folded first line (tab)", kEnvelope + "\tx\r\nSubject: x\r\n\r\nb\r\n.\r\n",
         kEnvelopeCodes + "|554 5.6.0", 0},
        {"MAIL before EHLO", "MAIL FROM:<a@remote.test>\r\n", "220|503 5.5.1", 0},
        {"RCPT before MAIL", kHello + "RCPT TO:<alice@example.com>\r\n", "220|250|503 5.5.1", 0},
        {"DATA before MAIL", kHello + "DATA\r\n", "220|250|503 5.5.1", 0},
        {"DATA before RCPT", kHello + "MAIL FROM:<>\r\nDATA\r\n", "220|250|250 2.1.0|503 5.5.1", 0},
        {"nested MAIL", kHello + "MAIL FROM:<>\r\nMAIL FROM:<>\r\n", "220|250|250 2.1.0|503 5.5.1",
         0},
        {"RSET ends the transaction",
         kHello + "MAIL FROM:<>\r\nRSET\r\nRCPT TO:<alice@example.com>\r\n",
         "220|250|250 2.1.0|250 2.0.0|503 5.5.1", 0},
        {"unknown command", kHello + "FOO bar\r\nMAILX FROM:<>\r\n", "220|250|500 5.5.2|500 5.5.2",
         0},
        {"empty line", kHello + "\r\n", "220|250|500 5.5.2", 0},
        {"NUL in a command", kHello + std::string("NOOP \0x\r\n", 9), "220|250|500 5.5.2", 0},
        {"too many recipients",
         kHello + "MAIL FROM:<>\r\nRCPT TO:<alice@example.com>\r\nRCPT TO:<bob@example.com>\r\n"
                  "RCPT TO:<carl@example.org>\r\nRCPT TO:<dave@example.org>\r\n",
         "220|250|250 2.1.0|250 2.1.5|250 2.1.5|250 2.1.5|452 4.5.3", 0},
        {"the same mailbox twice still counts toward the recipient limit",
         kHello + "MAIL FROM:<>\r\nRCPT TO:<alice@example.com>\r\nRCPT TO:<alice@example.com>\r\n"
                  "RCPT TO:<bob@example.com>\r\nRCPT TO:<carl@example.org>\r\n",
         "220|250|250 2.1.0|250 2.1.5|250 2.1.5|250 2.1.5|452 4.5.3", 0},
        {"refused recipients do not count toward the limit",
         kHello + "MAIL FROM:<>\r\nRCPT TO:<carol@example.com>\r\nRCPT TO:<alice@example.com>\r\n"
                  "RCPT TO:<bob@example.com>\r\nRCPT TO:<carl@example.org>\r\n",
         "220|250|250 2.1.0|550 5.1.1|250 2.1.5|250 2.1.5|250 2.1.5", 0},
        {"the limit starts over with each transaction",
         kHello + "MAIL FROM:<>\r\nRCPT TO:<alice@example.com>\r\nRCPT TO:<alice@example.com>\r\n"
                  "RCPT TO:<alice@example.com>\r\nRSET\r\nMAIL FROM:<>\r\n"
                  "RCPT TO:<alice@example.com>\r\n",
         "220|250|250 2.1.0|250 2.1.5|250 2.1.5|250 2.1.5|250 2.0.0|250 2.1.0|250 2.1.5", 0},
        {"an address literal is valid syntax but never hosted",
         kHello + "MAIL FROM:<>\r\nRCPT TO:<alice@[192.0.2.1]>\r\n"
                  "RCPT TO:<alice@[IPv6:2001:db8::1]>\r\nRCPT TO:<alice@[192.0.2.1>\r\n"
                  "RCPT TO:<a..b@[192.0.2.1]>\r\n",
         "220|250|250 2.1.0|550 5.7.1|550 5.7.1|501 5.1.3|501 5.1.3", 0},
        {"unknown mailbox in a hosted domain",
         kHello + "MAIL FROM:<>\r\nRCPT TO:<carol@example.com>\r\n", "220|250|250 2.1.0|550 5.1.1",
         0},
        {"domain not hosted: no relay",
         kHello + "MAIL FROM:<>\r\nRCPT TO:<alice@elsewhere.test>\r\n",
         "220|250|250 2.1.0|550 5.7.1", 0},
        {"DATA after every RCPT failed",
         kHello + "MAIL FROM:<>\r\nRCPT TO:<carol@example.com>\r\nDATA\r\n",
         "220|250|250 2.1.0|550 5.1.1|554 5.5.1", 0},
        {"too many errors", kHello + "A\r\nB\r\nC\r\nD\r\nE\r\nNOOP\r\nNOOP\r\n",
         "220|250|500 5.5.2|500 5.5.2|500 5.5.2|500 5.5.2|500 5.5.2|421 4.7.0", 0},
        {"sender without brackets", kHello + "MAIL FROM:a@remote.test\r\n", "220|250|501 5.1.7", 0},
        {"sender address malformed", kHello + "MAIL FROM:<a@@remote>\r\n", "220|250|501 5.1.7", 0},
        {"MAIL keyword malformed", kHello + "MAIL FRM:<a@remote.test>\r\n", "220|250|501 5.5.4", 0},
        {"recipient malformed", kHello + "MAIL FROM:<>\r\nRCPT TO:<alice@>\r\n",
         "220|250|250 2.1.0|501 5.1.3", 0},
        {"null recipient", kHello + "MAIL FROM:<>\r\nRCPT TO:<>\r\n", "220|250|250 2.1.0|501 5.1.3",
         0},
        {"RCPT keyword malformed", kHello + "MAIL FROM:<>\r\nRCPT <alice@example.com>\r\n",
         "220|250|250 2.1.0|501 5.5.4", 0},
        {"unknown MAIL parameter", kHello + "MAIL FROM:<> FOO=bar\r\n", "220|250|555 5.5.4", 0},
        {"RCPT parameter not offered",
         kHello + "MAIL FROM:<>\r\nRCPT TO:<alice@example.com> NOTIFY=NEVER\r\n",
         "220|250|250 2.1.0|555 5.5.4", 0},
        {"malformed parameter", kHello + "MAIL FROM:<> SIZE==1\r\n", "220|250|501 5.5.4", 0},
        {"SIZE not a number", kHello + "MAIL FROM:<> SIZE=12k\r\n", "220|250|501 5.5.4", 0},
        {"BODY values",
         kHello + "MAIL FROM:<> BODY=8BITMIME\r\nRSET\r\nMAIL FROM:<> BODY=7bit\r\n"
                  "RSET\r\nMAIL FROM:<> BODY=binarymime\r\n",
         "220|250|250 2.1.0|250 2.0.0|250 2.1.0|250 2.0.0|501 5.5.4", 0},
        {"parameters need EHLO", "HELO client.test\r\nMAIL FROM:<> BODY=8BITMIME\r\n",
         "220|250|555 5.5.4", 0},
        {"SMTPUTF8 with a UTF-8 recipient",
         kHello +
             "MAIL FROM:<renée@remote.test> SMTPUTF8\r\nRCPT TO:<jörg@example.com>\r\nDATA\r\n" +
             kBody + ".\r\n",
         "220|250|250 2.1.0|250 2.1.5|354|250 2.0.0", 1},
        {"UTF-8 sender without SMTPUTF8", kHello + "MAIL FROM:<renée@remote.test>\r\n",
         "220|250|553 5.6.7", 0},
        {"SMTPUTF8 takes no value", kHello + "MAIL FROM:<> SMTPUTF8=yes\r\n", "220|250|501 5.5.4",
         0},
        {"SMTPUTF8 addresses must be well-formed UTF-8 (RFC 6531)",
         kHello + "MAIL FROM:<s\xff\xfe@remote.test> SMTPUTF8\r\nMAIL FROM:<ok@remote.test> "
                  "SMTPUTF8\r\nRCPT TO:<j\xc3\x28@example.com>\r\n",
         "220|250|501 5.1.7|250 2.1.0|501 5.1.3", 0},
        {"EHLO names must be well-formed UTF-8", "EHLO \xff.test\r\nEHLO \xc3\xa9.test\r\n",
         "220|501 5.5.4|250", 0},
        {"source route ignored",
         kHello + "MAIL FROM:<@relay.test:a@remote.test>\r\nRCPT "
                  "TO:<@relay.test,@b.test:alice@example.com>\r\n",
         "220|250|250 2.1.0|250 2.1.5", 0},
        {"lenient space after the colon", kHello + "MAIL FROM: <a@remote.test>\r\n",
         "220|250|250 2.1.0", 0},
        {"case-insensitive verbs",
         "ehlo client.test\r\nmail from:<>\r\nrcpt to:<ALICE@Example.COM>\r\n",
         "220|250|250 2.1.0|250 2.1.5", 0},
        {"bare LF ends a command line", "EHLO client.test\nNOOP\n", "220|250|250 2.0.0", 0},
        {"postmaster, with or without a domain (RFC 5321 4.5.1)",
         kHello + "MAIL FROM:<>\r\nRCPT TO:<Postmaster>\r\nRCPT TO:<POSTMASTER@example.org>\r\n"
                  "RCPT TO:<postmaster@remote.test>\r\nRCPT TO:<postmistress>\r\n",
         "220|250|250 2.1.0|250 2.1.5|250 2.1.5|550 5.7.1|501 5.1.3", 0},
        {"VRFY discloses nothing", kHello + "VRFY alice\r\nVRFY nobody\r\nVRFY\r\n",
         "220|250|252 2.5.0|252 2.5.0|501 5.5.4", 0},
        {"HELP and NOOP", "HELP\r\nNOOP anything\r\n", "220|214 2.0.0|250 2.0.0", 0},
        {"not offered on a plain MX", kHello + "STARTTLS\r\nAUTH PLAIN\r\nEXPN list\r\n",
         "220|250|502 5.5.1|502 5.5.1|502 5.5.1", 0},
        {"EHLO without a name", "EHLO\r\nHELO bad(name)\r\n", "220|501 5.5.4|501 5.5.4", 0},
        {"EHLO with an address literal", "EHLO [192.0.2.1]\r\nEHLO [IPv6:2001:db8::1]\r\n",
         "220|250|250", 0},
        {"EHLO resets the transaction",
         kHello + "MAIL FROM:<>\r\nEHLO again.test\r\nRCPT TO:<alice@example.com>\r\n",
         "220|250|250 2.1.0|250|503 5.5.1", 0},
        {"DATA takes no argument",
         kHello + "MAIL FROM:<>\r\nRCPT TO:<alice@example.com>\r\nDATA now\r\n",
         "220|250|250 2.1.0|250 2.1.5|501 5.5.4", 0},
        {"QUIT ends everything", "QUIT\r\nNOOP\r\n", "220|221 2.0.0", 0},
        {"client drops mid-DATA", kEnvelope + "Subject: x\r\n\r\npartial", kEnvelopeCodes, 0},
        {"client drops after the final CRLF but before the dot", kEnvelope + kBody, kEnvelopeCodes,
         0},
        {"client drops after the dot without CRLF", kEnvelope + kBody + ".", kEnvelopeCodes, 0},
    };
}

}  // namespace

TEST_CASE("session: conversations as raw protocol text") {
    auto chunk = GENERATE(as<std::size_t>{}, 0, 1, 2, 3, 7, 64, 511, 4096);
    for (const Case& c : cases()) {
        CAPTURE(c.name, chunk);
        World w = converse(c.input, chunk == 0 ? SIZE_MAX : chunk);
        CHECK(codes(w.replies) == c.expect);
        CHECK(w.stored.size() == c.stored);
    }
}

TEST_CASE("session: the EHLO reply advertises exactly the extensions offered") {
    World w = converse(kHello);
    CHECK(w.replies ==
          "220 mx.test ESMTP Postern\r\n"
          "250-mx.test\r\n"
          "250-PIPELINING\r\n"
          "250-SIZE 1000\r\n"
          "250-8BITMIME\r\n"
          "250-SMTPUTF8\r\n"
          "250-CHUNKING\r\n"
          "250 ENHANCEDSTATUSCODES\r\n");
}

TEST_CASE("session: a stored message carries its envelope and unstuffed body") {
    World w =
        converse(kEnvelope + "Subject: dots\r\n\r\n..leading dot\r\n..\r\n...\r\nend\r\n.\r\n");
    REQUIRE(w.stored.size() == 1);
    const StoreMessage& m = w.stored[0];
    CHECK(m.reverse_path == "sender@remote.test");
    CHECK(m.body == "Subject: dots\r\n\r\n.leading dot\r\n.\r\n..\r\nend\r\n");
    REQUIRE(m.recipients.size() == 1);
    CHECK(m.recipients[0].address == "alice@example.com");
    CHECK(m.recipients[0].mailbox_id == "mbx_alice@example.com");
    CHECK(m.recipients[0].tenant_id == "ten_1");
    CHECK(m.received.helo == "client.test");
    CHECK(m.received.client_ip == "192.0.2.7");
    CHECK(m.received.hostname == "mx.test");
    CHECK(m.received.protocol == "ESMTP");
    CHECK(m.received.for_rcpt == "alice@example.com");
}

TEST_CASE("session: several recipients in one transaction get one copy each") {
    World w =
        converse(kHello +
                 "MAIL FROM:<>\r\nRCPT TO:<alice@example.com>\r\nRCPT TO:<carol@example.com>\r\n"
                 "RCPT TO:<bob@example.com>\r\nRCPT TO:<Alice@example.com>\r\nDATA\r\n" +
                 kBody + ".\r\n");
    CHECK(codes(w.replies) ==
          "220|250|250 2.1.0|250 2.1.5|550 5.1.1|250 2.1.5|250 2.1.5|354|250 2.0.0");
    REQUIRE(w.stored.size() == 1);
    const StoreMessage& m = w.stored[0];
    REQUIRE(m.recipients.size() == 2);  // Alice@ is alice@: one copy
    CHECK(m.recipients[0].address == "alice@example.com");
    CHECK(m.recipients[1].address == "bob@example.com");
    CHECK(m.received.for_rcpt.empty());  // one Received for every copy: no "for"
    CHECK(m.reverse_path.empty());
}

TEST_CASE("session: the root's trailing dot is dropped from envelope addresses") {
    World w = converse(kHello +
                       "MAIL FROM:<sender@remote.test.>\r\nRCPT TO:<alice@example.com.>\r\n"
                       "RCPT TO:<bob@example.com>\r\nDATA\r\n" +
                       kBody + ".\r\n");
    CHECK(codes(w.replies) == "220|250|250 2.1.0|250 2.1.5|250 2.1.5|354|250 2.0.0");
    REQUIRE(w.stored.size() == 1);
    const StoreMessage& m = w.stored[0];
    CHECK(m.reverse_path == "sender@remote.test");
    REQUIRE(m.recipients.size() == 2);
    CHECK(m.recipients[0].address == "alice@example.com");
    REQUIRE(w.spf_started.size() == 1);
    CHECK(w.spf_started[0].sender == "sender@remote.test");
    // Only one dot: "example.com.." is no domain.
    World bad = converse(kHello + "MAIL FROM:<>\r\nRCPT TO:<alice@example.com..>\r\n");
    CHECK(codes(bad.replies) == "220|250|250 2.1.0|501 5.1.3");
}

TEST_CASE("session: protocol names for the Received header") {
    World helo = converse("HELO c.test\r\nMAIL FROM:<>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n" +
                          kBody + ".\r\n");
    REQUIRE(helo.stored.size() == 1);
    CHECK(helo.stored[0].received.protocol == "SMTP");
    World utf8 = converse(
        kHello + "MAIL FROM:<> SMTPUTF8 BODY=8BITMIME\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n" +
        kBody + ".\r\n");
    REQUIRE(utf8.stored.size() == 1);
    CHECK(utf8.stored[0].received.protocol == "UTF8SMTP");
    CHECK(utf8.stored[0].smtputf8);
    CHECK(utf8.stored[0].eightbit);
}

TEST_CASE("session: pipelined commands after the final dot are answered in order") {
    World w = converse(kEnvelope + kBody +
                       ".\r\nMAIL FROM:<>\r\nRCPT TO:<bob@example.com>\r\nRSET\r\nQUIT\r\n");
    CHECK(codes(w.replies) ==
          kEnvelopeCodes + "|250 2.0.0|250 2.1.0|250 2.1.5|250 2.0.0|221 2.0.0");
    CHECK(w.stored.size() == 1);
}

TEST_CASE("session: effects that fail are temporary failures") {
    World lookup;
    lookup.lookup_fails = true;
    World a = converse(kHello + "MAIL FROM:<>\r\nRCPT TO:<alice@example.com>\r\n", SIZE_MAX,
                       test_options(), lookup);
    CHECK(codes(a.replies) == "220|250|250 2.1.0|451 4.3.0");

    World store;
    store.store_fails = true;
    World b = converse(kEnvelope + kBody + ".\r\nNOOP\r\n", SIZE_MAX, test_options(), store);
    CHECK(codes(b.replies) == kEnvelopeCodes + "|451 4.3.0|250 2.0.0");
    CHECK(b.stored.empty());
}

TEST_CASE("session: MAIL waits with 452 4.3.1 while the store has no room") {
    // RFC 5321 §4.5.3.1.10 and RFC 1870 §6.1: no room now is a temporary failure.
    World full;
    full.room = 0;
    World a = converse(kHello + "MAIL FROM:<a@remote.test>\r\nRCPT TO:<alice@example.com>\r\n",
                       SIZE_MAX, test_options(), full);
    CHECK(codes(a.replies) == "220|250|452 4.3.1|503 5.5.1");

    World some;  // a declared SIZE needs twice its size (WAL, then database)
    some.room = 1000;
    World b = converse(kHello + "MAIL FROM:<a@remote.test> SIZE=501\r\n" +
                           "MAIL FROM:<a@remote.test> SIZE=500\r\n",
                       SIZE_MAX, test_options(), some);
    CHECK(codes(b.replies) == "220|250|452 4.3.1|250 2.1.0");
    // Over the fixed maximum is still the permanent 552, whatever the room.
    World c = converse(kHello + "MAIL FROM:<a@remote.test> SIZE=1001\r\n", SIZE_MAX, test_options(),
                       some);
    CHECK(codes(c.replies) == "220|250|552 5.3.4");

    World store;  // the disk filled up during the commit
    store.store_full = true;
    World d = converse(kEnvelope + kBody + ".\r\nNOOP\r\n", SIZE_MAX, test_options(), store);
    CHECK(codes(d.replies) == kEnvelopeCodes + "|452 4.3.1|250 2.0.0");
    CHECK(d.stored.empty());
}

TEST_CASE("session: idle timeout and shutdown and the connection limit reply") {
    Session s(test_options());
    Actions out;
    s.on_connect(out);
    out.clear();
    CHECK(s.idle());
    s.on_timeout(out);
    REQUIRE(out.size() == 2);
    CHECK(std::get<Reply>(out[0]).text.rfind("421 4.4.2 ", 0) == 0);
    CHECK(std::holds_alternative<Close>(out[1]));
    CHECK(s.closed());

    Session t(test_options());
    out.clear();
    t.on_shutdown(out);
    CHECK(std::get<Reply>(out.at(0)).text.rfind("421 4.3.2 ", 0) == 0);
    CHECK(std::holds_alternative<Close>(out.at(1)));

    CHECK(Session::too_many_connections("mx.test").rfind("421 4.7.0 mx.test ", 0) == 0);
}

TEST_CASE("session: idle() is false while a transaction is open") {
    Session s(test_options());
    Actions out;
    s.on_line("EHLO c.test", out);
    CHECK(s.idle());
    s.on_line("MAIL FROM:<>", out);
    CHECK_FALSE(s.idle());
    s.on_line("RSET", out);
    CHECK(s.idle());
}

TEST_CASE("session: no error limit when max_errors is 0") {
    SessionOptions o = test_options();
    o.max_errors = 0;
    std::string junk;
    for (int i = 0; i < 50; ++i) junk += "JUNK\r\n";
    World w = converse(junk + "NOOP\r\n", SIZE_MAX, o);
    CHECK_FALSE(w.closed);
    CHECK(codes(w.replies).substr(codes(w.replies).size() - 9) == "250 2.0.0");
}

TEST_CASE("session: an over-long line with no end is discarded and not buffered") {
    Session s(test_options());
    Actions out;
    std::string garbage(100000, 'x');
    CHECK(s.feed(garbage, out) == garbage.size());
    REQUIRE(out.size() == 1);
    CHECK(std::get<Reply>(out[0]).text.rfind("500 5.5.2", 0) == 0);
    out.clear();
    CHECK(s.feed("yyy\r\nNOOP\r\n", out) == 11);
    REQUIRE(out.size() == 1);
    CHECK(std::get<Reply>(out[0]).code == 250);
}

TEST_CASE("session: an accepted MAIL FROM asks for the SPF check of that sender") {
    World w = converse(kHello + "MAIL FROM:<bad>\r\nMAIL FROM:<sender@remote.test>\r\nRSET\r\n" +
                       "MAIL FROM:<>\r\nQUIT\r\n");
    CHECK(codes(w.replies) == "220|250|501 5.1.7|250 2.1.0|250 2.0.0|250 2.1.0|221 2.0.0");
    REQUIRE(w.spf_started.size() == 2);  // not for the refused MAIL
    CHECK(w.spf_started[0].sender == "sender@remote.test");
    CHECK(w.spf_started[0].helo == "client.test");
    CHECK(w.spf_started[0].client_ip == "192.0.2.7");
    CHECK(w.spf_started[0].hostname == "mx.test");
    CHECK(w.spf_started[1].sender.empty());  // the null sender: the shell checks the HELO
}

TEST_CASE("session: a store refused by policy is a 550 5.7.1 and the session goes on") {
    World refusing;
    refusing.refuse = "Rejected by the DMARC policy of remote.test\r\nX";
    World w = converse(kEnvelope + kBody + ".\r\n" + "MAIL FROM:<>\r\nQUIT\r\n", SIZE_MAX,
                       test_options(), refusing);
    CHECK(codes(w.replies) == kEnvelopeCodes + "|550 5.7.1|250 2.1.0|221 2.0.0");
    CHECK(w.replies.find("550 5.7.1 Rejected by the DMARC policy of remote.test  X\r\n") !=
          std::string::npos);
    CHECK(w.stored.empty());
}
