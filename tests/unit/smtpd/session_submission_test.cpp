// Submission (RFC 6409) in the state machine: STARTTLS (RFC 3207) and its command-injection
// guard, AUTH PLAIN and LOGIN (RFC 4954) only under TLS and only on submission listeners, the
// failure limit, AUTH before MAIL, and the envelope sender bound to the authenticated mailbox.
// Conversations are replayed in chunks like session_test.cpp.
#include <catch2/catch.hpp>

#include "common/crypto.hpp"
#include "session_driver.hpp"

using namespace postern;
using namespace postern::smtp;
using namespace postern::smtp::test;

namespace {

std::string b64(std::string_view s) { return base64_encode(s); }
std::string plain(std::string_view user, std::string_view pass, std::string_view authz = "") {
    std::string s(authz);
    s += '\0';
    s += user;
    s += '\0';
    s += pass;
    return b64(s);
}

const std::string kHello = "EHLO client.test\r\n";
const std::string kAuth = "AUTH PLAIN " + plain("alice@example.com", "pst_alice") + "\r\n";
const std::string kBody = "From: alice@example.com\r\nSubject: hi\r\n\r\nHello.\r\n";
const std::string kSend =
    "MAIL FROM:<alice@example.com>\r\nRCPT TO:<someone@elsewhere.test>\r\n"
    "DATA\r\n" +
    kBody + ".\r\n";
const std::string kSendCodes = "250 2.1.0|250 2.1.5|354|250 2.0.0";

struct Case {
    const char* name;
    std::string input;
    std::string expect;
    std::size_t stored;
};

std::vector<Case> cases() {
    return {
        {"AUTH PLAIN with an initial response, then a message", kHello + kAuth + kSend,
         "220|250|235 2.7.0|" + kSendCodes, 1},
        {"AUTH PLAIN after an empty challenge",
         kHello + "AUTH PLAIN\r\n" + plain("alice@example.com", "pst_alice") + "\r\n" + kSend,
         "220|250|334|235 2.7.0|" + kSendCodes, 1},
        {"AUTH PLAIN with the authzid equal to the user",
         kHello + "AUTH PLAIN " + plain("alice@example.com", "pst_alice", "alice@example.com") +
             "\r\n",
         "220|250|235 2.7.0", 0},
        {"AUTH PLAIN acting for someone else",
         kHello + "AUTH PLAIN " + plain("alice@example.com", "pst_alice", "bob@example.com") +
             "\r\n",
         "220|250|535 5.7.8", 0},
        {"AUTH LOGIN",
         kHello + "AUTH LOGIN\r\n" + b64("alice@example.com") + "\r\n" + b64("pst_alice") + "\r\n" +
             kSend,
         "220|250|334|334|235 2.7.0|" + kSendCodes, 1},
        {"AUTH LOGIN with the username as initial response",
         kHello + "AUTH LOGIN " + b64("alice@example.com") + "\r\n" + b64("pst_alice") + "\r\n",
         "220|250|334|235 2.7.0", 0},
        {"a wrong token",
         kHello + "AUTH PLAIN " + plain("alice@example.com", "pst_wrong") + "\r\n" +
             "MAIL FROM:<alice@example.com>\r\n",
         "220|250|535 5.7.8|530 5.7.0", 0},
        {"an unknown user",
         kHello + "AUTH PLAIN " + plain("mallory@example.com", "pst_alice") + "\r\n",
         "220|250|535 5.7.8", 0},
        {"too many failures close the session",
         kHello + "AUTH PLAIN " + plain("alice@example.com", "x") + "\r\nAUTH PLAIN " +
             plain("alice@example.com", "y") + "\r\nAUTH LOGIN " + b64("alice@example.com") +
             "\r\n" + b64("z") + "\r\n" + kAuth,
         "220|250|535 5.7.8|535 5.7.8|334|535 5.7.8|421 4.7.0", 0},
        {"a failure then success",
         kHello + "AUTH PLAIN " + plain("alice@example.com", "x") + "\r\n" + kAuth + kSend,
         "220|250|535 5.7.8|235 2.7.0|" + kSendCodes, 1},
        {"AUTH cancelled", kHello + "AUTH LOGIN\r\n*\r\nNOOP\r\n",
         "220|250|334|501 5.0.0|250 2.0.0", 0},
        {"a response that is not base64", kHello + "AUTH PLAIN\r\n!!!!\r\nNOOP\r\n",
         "220|250|334|501 5.5.2|250 2.0.0", 0},
        {"an initial response that is not base64", kHello + "AUTH PLAIN abc\r\n",
         "220|250|501 5.5.2", 0},
        {"a PLAIN response without NULs", kHello + "AUTH PLAIN " + b64("alice") + "\r\n",
         "220|250|535 5.7.8", 0},
        {"an empty PLAIN response", kHello + "AUTH PLAIN =\r\n", "220|250|535 5.7.8", 0},
        {"an unknown mechanism", kHello + "AUTH CRAM-MD5\r\nAUTH\r\n",
         "220|250|504 5.5.4|501 5.5.4", 0},
        {"AUTH twice", kHello + kAuth + kAuth, "220|250|235 2.7.0|503 5.5.1", 0},
        {"AUTH before EHLO", kAuth, "220|503 5.5.1", 0},
        {"AUTH during a transaction", kHello + kAuth + "MAIL FROM:<alice@example.com>\r\n" + kAuth,
         "220|250|235 2.7.0|250 2.1.0|503 5.5.1", 0},
        {"MAIL before AUTH", kHello + "MAIL FROM:<alice@example.com>\r\n", "220|250|530 5.7.0", 0},
        {"a foreign envelope sender", kHello + kAuth + "MAIL FROM:<bob@example.com>\r\n",
         "220|250|235 2.7.0|553 5.7.1", 0},
        {"the null envelope sender", kHello + kAuth + "MAIL FROM:<>\r\n",
         "220|250|235 2.7.0|553 5.7.1", 0},
        {"the sender in another case", kHello + kAuth + "MAIL FROM:<Alice@EXAMPLE.com>\r\n",
         "220|250|235 2.7.0|250 2.1.0", 0},
        {"the AUTH= parameter of MAIL",
         kHello + kAuth + "MAIL FROM:<alice@example.com> AUTH=<>\r\n",
         "220|250|235 2.7.0|250 2.1.0", 0},
        {"any recipient domain",
         kHello + kAuth +
             "MAIL FROM:<alice@example.com>\r\nRCPT TO:<x@a.test>\r\n"
             "RCPT TO:<y@b.test>\r\nRCPT TO:<bob@example.com>\r\n",
         "220|250|235 2.7.0|250 2.1.0|250 2.1.5|250 2.1.5|250 2.1.5", 0},
        {"an address literal recipient",
         kHello + kAuth + "MAIL FROM:<alice@example.com>\r\nRCPT TO:<x@[192.0.2.1]>\r\n",
         "220|250|235 2.7.0|250 2.1.0|553 5.1.2", 0},
        {"BDAT on submission",
         kHello + kAuth + "MAIL FROM:<alice@example.com>\r\nRCPT TO:<x@a.test>\r\nBDAT " +
             std::to_string(kBody.size()) + " LAST\r\n" + kBody,
         "220|250|235 2.7.0|250 2.1.0|250 2.1.5|250 2.0.0", 1},
        {"STARTTLS under implicit TLS", kHello + "STARTTLS\r\n", "220|250|503 5.5.1", 0},
    };
}

}  // namespace

TEST_CASE("submission: conversations under TLS as raw protocol text") {
    auto chunk = GENERATE(as<std::size_t>{}, 0, 1, 2, 3, 7, 64, 511, 4096);
    for (const Case& c : cases()) {
        CAPTURE(c.name, chunk);
        World w = converse(c.input, chunk == 0 ? SIZE_MAX : chunk, submission_options());
        CHECK(codes(w.replies) == c.expect);
        CHECK(w.stored.size() == c.stored);
    }
}

TEST_CASE("submission: a submitted message carries the identity and ESMTPSA") {
    World w = converse(kHello + kAuth + kSend, SIZE_MAX, submission_options());
    REQUIRE(w.stored.size() == 1);
    const StoreMessage& m = w.stored[0];
    REQUIRE(m.submitter.has_value());
    CHECK(m.submitter->mailbox_id == "mbx_alice@example.com");
    CHECK(m.submitter->key == "alice@example.com");
    CHECK(m.reverse_path == "alice@example.com");
    REQUIRE(m.recipients.size() == 1);
    CHECK(m.recipients[0].address == "someone@elsewhere.test");
    CHECK(m.recipients[0].mailbox_id.empty());
    CHECK(m.received.protocol == "ESMTPSA");
    CHECK(m.body == kBody);
    CHECK(w.replies.find("250 2.0.0 OK: queued as smtp_TEST\r\n") != std::string::npos);
    REQUIRE(w.auths.size() == 1);
    CHECK(w.auths[0].mechanism == "PLAIN");
    CHECK(w.auths[0].username == "alice@example.com");
    CHECK(w.auths[0].password == "pst_alice");
}

TEST_CASE("submission: the EHLO reply offers AUTH under TLS only, and not once authenticated") {
    World tls = converse(kHello, SIZE_MAX, submission_options());
    CHECK(tls.replies.find("250-AUTH PLAIN LOGIN\r\n") != std::string::npos);
    CHECK(tls.replies.find("STARTTLS") == std::string::npos);
    CHECK(tls.replies.find("250-CHUNKING\r\n") != std::string::npos);

    World again = converse(kHello + kAuth + kHello, SIZE_MAX, submission_options());
    CHECK(codes(again.replies) == "220|250|235 2.7.0|250");
    CHECK(again.replies.find("AUTH PLAIN LOGIN") == again.replies.rfind("AUTH PLAIN LOGIN"));

    SessionOptions plain_text = submission_options();
    plain_text.tls_active = false;
    World clear =
        converse(kHello + kAuth + "MAIL FROM:<alice@example.com>\r\n", SIZE_MAX, plain_text);
    CHECK(clear.replies.find("250-STARTTLS\r\n") != std::string::npos);
    CHECK(clear.replies.find("AUTH") == std::string::npos);
    CHECK(codes(clear.replies) == "220|250|538 5.7.11|530 5.7.0");
    CHECK(clear.auths.empty());

    SessionOptions mx = test_options();
    mx.tls_offered = true;
    mx.tls_active = true;
    World on_mx = converse(kHello + kAuth, SIZE_MAX, mx);
    CHECK(on_mx.replies.find("AUTH") == std::string::npos);
    CHECK(codes(on_mx.replies) == "220|250|502 5.5.1");
}

TEST_CASE("submission: STARTTLS forgets everything from before the handshake") {
    SessionOptions o = submission_options();
    o.tls_active = false;
    Session s(o);
    World w;
    Actions out;
    s.on_connect(out);
    w.perform(s, out);
    w.feed(s, kHello + "STARTTLS\r\n", 4096);
    CHECK(w.tls_started == 1);
    CHECK(s.tls());
    CHECK(codes(w.replies) == "220|250|220 2.0.0");
    // EHLO again is required; then AUTH is offered and STARTTLS no more.
    w.feed(s, "MAIL FROM:<alice@example.com>\r\n" + kHello + kAuth + kSend, 4096);
    CHECK(codes(w.replies) == "220|250|220 2.0.0|503 5.5.1|250|235 2.7.0|" + kSendCodes);
    CHECK(w.replies.find("250-AUTH PLAIN LOGIN") != std::string::npos);
    CHECK(w.replies.find("STARTTLS\r\n") == w.replies.rfind("STARTTLS\r\n"));  // once, before
    CHECK(w.stored.size() == 1);
}

TEST_CASE("submission: STARTTLS on the MX discards the transaction begun before it") {
    SessionOptions o = test_options();
    o.tls_offered = true;
    Session s(o);
    World w;
    Actions out;
    s.on_connect(out);
    w.perform(s, out);
    w.feed(s, kHello + "MAIL FROM:<a@remote.test>\r\nSTARTTLS\r\n", 4096);
    w.feed(s, "RCPT TO:<alice@example.com>\r\nSTARTTLS\r\n", 4096);
    CHECK(codes(w.replies) == "220|250|250 2.1.0|220 2.0.0|503 5.5.1|503 5.5.1");
    CHECK(w.tls_started == 1);
}

TEST_CASE("submission: commands pipelined after STARTTLS are refused (CVE-2011-0411)") {
    SessionOptions o = submission_options();
    o.tls_active = false;
    auto injected =
        GENERATE(as<std::string>{}, "RSET\r\n", "MAIL FROM:<alice@example.com>\r\n", "X", "\r\n");
    World w = converse(kHello + "STARTTLS\r\n" + injected, SIZE_MAX, o);
    CHECK(codes(w.replies) == "220|250|554 5.5.1");
    CHECK(w.tls_started == 0);
    CHECK(w.closed);
}

TEST_CASE("submission: STARTTLS needs EHLO and takes no argument") {
    SessionOptions o = submission_options();
    o.tls_active = false;
    World w = converse("STARTTLS\r\nHELO c.test\r\nSTARTTLS\r\nEHLO c.test\r\nSTARTTLS now\r\n",
                       SIZE_MAX, o);
    CHECK(codes(w.replies) == "220|503 5.5.1|250|503 5.5.1|250|501 5.5.4");
    CHECK(w.tls_started == 0);
}

TEST_CASE("submission: a mailbox whose domain may not send is refused at MAIL FROM") {
    World world;
    world.send_refused = "Domain example.com is not verified for sending";
    World w = converse(kHello + kAuth + "MAIL FROM:<alice@example.com>\r\n", SIZE_MAX,
                       submission_options(), world);
    CHECK(codes(w.replies) == "220|250|235 2.7.0|550 5.7.1");
    CHECK(w.replies.find("550 5.7.1 Domain example.com is not verified for sending\r\n") !=
          std::string::npos);
}

TEST_CASE("submission: a lookup failure is temporary, a refused From is 553") {
    World failing;
    failing.auth_fails = true;
    World a = converse(kHello + kAuth, SIZE_MAX, submission_options(), failing);
    CHECK(codes(a.replies) == "220|250|454 4.7.0");

    World refusing;
    refusing.refuse = "From header must be the authenticated mailbox";
    refusing.refuse_code = 553;
    World b = converse(kHello + kAuth + kSend, SIZE_MAX, submission_options(), refusing);
    CHECK(codes(b.replies) == "220|250|235 2.7.0|250 2.1.0|250 2.1.5|354|553 5.7.1");
}

TEST_CASE("submission: no limit on AUTH failures when max_auth_failures is 0") {
    SessionOptions o = submission_options();
    o.max_auth_failures = 0;
    std::string input = kHello;
    for (int i = 0; i < 6; ++i) input += "AUTH PLAIN " + plain("alice@example.com", "x") + "\r\n";
    World w = converse(input + kAuth, SIZE_MAX, o);
    CHECK_FALSE(w.closed);
    CHECK(codes(w.replies).substr(codes(w.replies).size() - 9) == "235 2.7.0");
}
