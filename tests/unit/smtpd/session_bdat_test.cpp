// CHUNKING (RFC 3030): BDAT conversations as raw protocol text, replayed in chunks of 1 to 4096
// bytes like the DATA conversations in session_test.cpp. A chunk's octets are always read, even
// when its BDAT is refused, and they are never taken for commands.
#include <catch2/catch.hpp>

#include "session_driver.hpp"

using namespace postern::smtp;
using namespace postern::smtp::test;

namespace {

const std::string kEnv =
    "EHLO client.test\r\nMAIL FROM:<sender@remote.test>\r\nRCPT TO:<alice@example.com>\r\n";
const std::string kEnvCodes = "220|250|250 2.1.0|250 2.1.5";
const std::string kBody = "Subject: hi\r\n\r\nHello.\r\n";

std::string bdat(const std::string& chunk, bool last = false) {
    return "BDAT " + std::to_string(chunk.size()) + (last ? " LAST" : "") + "\r\n" + chunk;
}

std::string lines(int n, int width) {
    std::string s;
    for (int i = 0; i < n; ++i) s += std::string(width, 'b') + "\r\n";
    return s;
}

struct Case {
    const char* name;
    std::string input;
    std::string expect;
    std::size_t stored;
    std::string body;  // of the stored message, when one is
};

std::vector<Case> cases() {
    return {
        {"one chunk, LAST", kEnv + bdat(kBody, true) + "QUIT\r\n",
         kEnvCodes + "|250 2.0.0|221 2.0.0", 1, kBody},
        {"chunks split inside a CRLF",
         kEnv + bdat("Subject: hi\r") + bdat("\n\r\nHello.\r\n", true),
         kEnvCodes + "|250 2.0.0|250 2.0.0", 1, kBody},
        {"BDAT 0 LAST ends the message", kEnv + bdat(kBody) + "BDAT 0 LAST\r\nNOOP\r\n",
         kEnvCodes + "|250 2.0.0|250 2.0.0|250 2.0.0", 1, kBody},
        {"lower-case and spaced", kEnv + "bdat 6   last\r\nab\r\n\r\n", kEnvCodes + "|250 2.0.0", 1,
         "ab\r\n\r\n"},
        {"a folded first line is refused as after DATA",
         kEnv + bdat(" dkim=pass\r\n") + bdat("Subject: x\r\n\r\nb\r\n", true) + "NOOP\r\n",
         kEnvCodes + "|250 2.0.0|554 5.6.0|250 2.0.0", 0, ""},
        {"BDAT 0 LAST alone is an empty message", kEnv + "BDAT 0 LAST\r\n",
         kEnvCodes + "|250 2.0.0", 1, ""},
        {"a last line without CRLF gets one", kEnv + bdat("Subject: x\r\n\r\nend", true),
         kEnvCodes + "|250 2.0.0", 1, "Subject: x\r\n\r\nend\r\n"},
        {"dots are content, not stuffing", kEnv + bdat("a\r\n.\r\n..b\r\n", true),
         kEnvCodes + "|250 2.0.0", 1, "a\r\n.\r\n..b\r\n"},
        {"an end-of-data marker inside a chunk is content",
         kEnv + bdat("a\r\n.\r\nMAIL FROM:<evil@x.test>\r\n", true) + "NOOP\r\n",
         kEnvCodes + "|250 2.0.0|250 2.0.0", 1, "a\r\n.\r\nMAIL FROM:<evil@x.test>\r\n"},
        {"two messages by BDAT on one connection",
         kEnv + bdat(kBody, true) + "MAIL FROM:<>\r\nRCPT TO:<bob@example.com>\r\n" +
             bdat(kBody, true),
         kEnvCodes + "|250 2.0.0|250 2.1.0|250 2.1.5|250 2.0.0", 2, kBody},
        {"DATA then BDAT in the next transaction",
         kEnv + "DATA\r\n" + kBody + ".\r\nMAIL FROM:<>\r\nRCPT TO:<bob@example.com>\r\n" +
             bdat(kBody, true),
         kEnvCodes + "|354|250 2.0.0|250 2.1.0|250 2.1.5|250 2.0.0", 2, kBody},
        {"DATA after BDAT is out of sequence",
         kEnv + bdat("Subject: x\r\n") + "DATA\r\n" + bdat("\r\nbody\r\n", true),
         kEnvCodes + "|250 2.0.0|503 5.5.1|250 2.0.0", 1, "Subject: x\r\n\r\nbody\r\n"},
        {"RCPT after BDAT is out of sequence",
         kEnv + bdat("Subject: x\r\n") + "RCPT TO:<bob@example.com>\r\n" + "BDAT 0 LAST\r\n",
         kEnvCodes + "|250 2.0.0|503 5.5.1|250 2.0.0", 1, "Subject: x\r\n"},
        {"BDAT before MAIL: refused, its chunk read and dropped",
         "EHLO client.test\r\n" + bdat("QUIT\r\n") + "NOOP\r\n", "220|250|503 5.5.1|250 2.0.0", 0,
         ""},
        {"BDAT before EHLO", bdat("QUIT\r\n") + "NOOP\r\n", "220|503 5.5.1|250 2.0.0", 0, ""},
        {"BDAT after HELO",
         "HELO client.test\r\nMAIL FROM:<>\r\nRCPT TO:<bob@example.com>\r\n" + bdat("QUIT\r\n") +
             "NOOP\r\n",
         "220|250|250 2.1.0|250 2.1.5|503 5.5.1|250 2.0.0", 0, ""},
        {"BDAT before RCPT", "EHLO client.test\r\nMAIL FROM:<>\r\n" + bdat("RSET\r\n", true),
         "220|250|250 2.1.0|503 5.5.1", 0, ""},
        {"BDAT when every RCPT failed",
         "EHLO client.test\r\nMAIL FROM:<>\r\nRCPT TO:<carol@example.com>\r\n" +
             bdat("RSET\r\n", true) + "NOOP\r\n",
         "220|250|250 2.1.0|550 5.1.1|554 5.5.1|250 2.0.0", 0, ""},
        {"over the size limit in one chunk", kEnv + bdat(lines(30, 40), true) + "NOOP\r\n",
         kEnvCodes + "|552 5.3.4|250 2.0.0", 0, ""},
        {"over the size limit across chunks, later chunks dropped",
         kEnv + bdat(lines(15, 40)) + bdat(lines(15, 40)) + bdat(lines(2, 10), true) + "NOOP\r\n",
         kEnvCodes + "|250 2.0.0|552 5.3.4|503 5.5.1|250 2.0.0", 0, ""},
        {"exactly the size limit", kEnv + bdat(lines(25, 38), true), kEnvCodes + "|250 2.0.0", 1,
         lines(25, 38)},
        {"bare LF in a chunk", kEnv + bdat("Subject: x\n\nbody\r\n", true) + "NOOP\r\n",
         kEnvCodes + "|554 5.6.0|250 2.0.0", 0, ""},
        {"bare CR in a chunk", kEnv + bdat("Subject: x\r\rbody\r\n", true) + "NOOP\r\n",
         kEnvCodes + "|554 5.6.0|250 2.0.0", 0, ""},
        {"a trailing CR at LAST is bare", kEnv + bdat("Subject: x\r\n\r\nbody\r", true),
         kEnvCodes + "|554 5.6.0", 0, ""},
        {"a CR ending one chunk and text starting the next",
         kEnv + bdat("a\r") + bdat("b\r\n", true), kEnvCodes + "|250 2.0.0|554 5.6.0", 0, ""},
        {"a line over 998 octets", kEnv + bdat(std::string(999, 'a') + "\r\n", true),
         kEnvCodes + "|554 5.6.0", 0, ""},
        {"a line of 998 octets across chunks",
         kEnv + bdat(std::string(500, 'a')) + bdat(std::string(498, 'a') + "\r\n", true),
         kEnvCodes + "|250 2.0.0|250 2.0.0", 1, std::string(998, 'a') + "\r\n"},
        {"RSET abandons a BDAT transaction",
         kEnv + bdat("Subject: x\r\n") + "RSET\r\n" + bdat("y\r\n", true) + "NOOP\r\n",
         kEnvCodes + "|250 2.0.0|250 2.0.0|503 5.5.1|250 2.0.0", 0, ""},
        {"BDAT without a size closes", kEnv + "BDAT\r\nNOOP\r\n", kEnvCodes + "|501 5.5.4", 0, ""},
        {"BDAT with a bad size closes", kEnv + "BDAT 1x LAST\r\nNOOP\r\n", kEnvCodes + "|501 5.5.4",
         0, ""},
        {"BDAT with a bad end marker closes", kEnv + "BDAT 3 LASTLY\r\nabcNOOP\r\n",
         kEnvCodes + "|501 5.5.4", 0, ""},
        {"BDAT size of 20 digits closes", kEnv + "BDAT 99999999999999999999\r\n",
         kEnvCodes + "|501 5.5.4", 0, ""},
        {"client drops mid-chunk", kEnv + "BDAT 100 LAST\r\nSubject: x\r\n", kEnvCodes, 0, ""},
    };
}

}  // namespace

TEST_CASE("bdat: conversations as raw protocol text") {
    auto chunk = GENERATE(as<std::size_t>{}, 0, 1, 2, 3, 7, 64, 511, 4096);
    for (const Case& c : cases()) {
        CAPTURE(c.name, chunk);
        World w = converse(c.input, chunk == 0 ? SIZE_MAX : chunk);
        CHECK(codes(w.replies) == c.expect);
        REQUIRE(w.stored.size() == c.stored);
        if (c.stored) CHECK(w.stored.back().body == c.body);
    }
}

TEST_CASE("bdat: a refused chunk costs no memory and a BDAT syntax error ends the session") {
    World w = converse(kEnv + "BDAT 3 LASTLY\r\nabcNOOP\r\n");
    CHECK(w.closed);
    CHECK(w.replies.find("closing connection") != std::string::npos);
}

TEST_CASE("bdat: the envelope and protocol of a message sent by BDAT") {
    World w = converse(kEnv + bdat(kBody, true));
    REQUIRE(w.stored.size() == 1);
    CHECK(w.stored[0].reverse_path == "sender@remote.test");
    CHECK(w.stored[0].recipients.at(0).address == "alice@example.com");
    CHECK(w.stored[0].received.protocol == "ESMTP");
    CHECK_FALSE(w.stored[0].submitter.has_value());
}

TEST_CASE("bdat: in_data() while a chunk is read, idle() after") {
    Session s(test_options());
    Actions out;
    World w;
    s.on_connect(out);
    w.perform(s, out);
    w.feed(s, kEnv + "BDAT 10\r\nabc", 4096);
    CHECK(s.in_data());
    CHECK_FALSE(s.idle());
    w.feed(s, "defghij", 4096);
    CHECK_FALSE(s.in_data());
    w.feed(s, "RSET\r\n", 4096);
    CHECK(s.idle());
    CHECK(codes(w.replies) == kEnvCodes + "|250 2.0.0|250 2.0.0");
}
