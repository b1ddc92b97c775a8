// DKIM signing (OpenSSL, our canonicalization), checked by two verifiers we did not write:
// dkimpy (python3-dkim, run with Debian's /usr/bin/python3) and libopendkim (through
// dns::DkimVerification), both against the public key records.
#include "dns/dkim_sign.hpp"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "common/ids.hpp"
#include "dns/dkim_verify.hpp"
#include "dns/onboarding.hpp"

using namespace postern;
namespace fs = std::filesystem;

namespace {

const char* kMessage =
    "From: Agent <agent@example.com>\r\n"
    "To: someone@dest.test\r\n"
    "Subject: Quarterly numbers\r\n"
    "Date: Sun, 22 Nov 2026 08:03:46 +0000\r\n"
    "Message-ID: <m1@example.com>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "X-Not-Signed: yes\r\n"
    "\r\n"
    "Hello,\r\n"
    ".leading dot\r\n"
    "\r\n"
    "the numbers.   \r\n";

struct Keys {
    dns::DkimKey rsa, ed;
};
const Keys& keys() {
    static Keys k{*dns::generate_dkim_key("rsa-sha256", "postern-rsa"),
                  *dns::generate_dkim_key("ed25519-sha256", "postern-ed25519")};
    return k;
}

// Runs dkimpy over `message`; true when every signature verifies.
bool dkimpy_verifies(const std::string& message) {
    fs::path dir = fs::temp_directory_path() / ("postern-dkim-" + new_id("t"));
    fs::create_directories(dir);
    std::ofstream(dir / "msg.eml", std::ios::binary) << message;
    {
        std::ofstream k(dir / "keys.txt");
        for (const auto* key : {&keys().rsa, &keys().ed})
            k << key->selector << "._domainkey.example.com " << dns::dkim_record_value(*key)
              << "\n";
    }
    fs::path helper =
        fs::path(POSTERN_SOURCE_DIR) / "tests" / "unit" / "dns" / "dkim_sign_verify.py";
    std::string cmd = "/usr/bin/python3 '" + helper.string() + "' '" + (dir / "msg.eml").string() +
                      "' '" + (dir / "keys.txt").string() + "'";
    int rc = std::system(cmd.c_str());
    fs::remove_all(dir);
    return rc == 0;
}

// libopendkim's verdicts on `message`, one per signature ("pass", "fail", ...).
std::vector<std::string> libopendkim_verdicts(const std::string& message) {
    auto zone = [](const dns::Question& q) {
        dns::Answer a;
        a.status = dns::Status::nxdomain;
        for (const auto* key : {&keys().rsa, &keys().ed})
            if (q.name == key->selector + "._domainkey.example.com") {
                a.status = dns::Status::ok;
                a.txt = {dns::dkim_record_value(*key)};
            }
        return a;
    };
    std::vector<std::string> out;
    for (const auto& r : dns::verify_dkim(zone, message))
        out.push_back(r.algorithm + " " + std::string(dns::to_string(r.status)));
    return out;
}

}  // namespace

TEST_CASE("dkim_sign adds rsa-sha256 and ed25519-sha256 signatures that dkimpy verifies",
          "[dkim][sign]") {
    std::vector<dns::DkimSigningKey> signing{
        {"example.com", keys().rsa.selector, "rsa-sha256", keys().rsa.private_pem},
        {"example.com", keys().ed.selector, "ed25519-sha256", keys().ed.private_pem}};
    auto sigs = dns::dkim_sign(kMessage, signing);
    REQUIRE(sigs);
    CHECK(sigs->find("a=rsa-sha256") != std::string::npos);
    CHECK(sigs->find("a=ed25519-sha256") != std::string::npos);
    CHECK(sigs->find("c=relaxed/relaxed") != std::string::npos);
    CHECK(sigs->find("s=postern-ed25519") != std::string::npos);
    // Every line ends in CRLF and continuation lines are folded.
    CHECK(sigs->find('\n') == sigs->find("\r\n") + 1);
    CHECK(sigs->ends_with("\r\n"));
    // h= names each field present, and every listed name once more (over-signed, RFC 6376
    // §8.15); the addressing and threading ones (Cc, Reply-To, In-Reply-To, References) even
    // when absent, the MIME ones (Content-Transfer-Encoding) not; never an unlisted one.
    std::string unfolded;
    for (char c : *sigs)
        if (c != '\r' && c != '\n' && c != '\t' && c != ' ') unfolded += c;
    CHECK(unfolded.find("h=From:From:To:To:Cc:Reply-To:Subject:Subject:Date:Date:Message-ID:"
                        "Message-ID:In-Reply-To:References:MIME-Version:MIME-Version:"
                        "Content-Type:Content-Type;") != std::string::npos);
    CHECK(unfolded.find("X-Not-Signed") == std::string::npos);

    const std::string signed_message = *sigs + kMessage;
    CHECK(dkimpy_verifies(signed_message));
    CHECK(libopendkim_verdicts(signed_message) ==
          std::vector<std::string>{"rsa-sha256 pass", "ed25519-sha256 pass"});

    // The check can fail: a changed body breaks both signatures.
    std::string tampered = signed_message;
    tampered.replace(tampered.find("the numbers"), 11, "new numbers");
    CHECK_FALSE(dkimpy_verifies(tampered));
    CHECK(libopendkim_verdicts(tampered) ==
          std::vector<std::string>{"rsa-sha256 fail", "ed25519-sha256 fail"});

    // A second Subject added above the signed one (which a mail client may show instead) breaks
    // both signatures, because Subject is over-signed.
    std::string added = signed_message;
    added.insert(added.find("Subject: Quarterly"), "Subject: Urgent: wire the money\r\n");
    CHECK_FALSE(dkimpy_verifies(added));
    CHECK(libopendkim_verdicts(added) ==
          std::vector<std::string>{"rsa-sha256 fail", "ed25519-sha256 fail"});

    // So does a field the message lacked, added afterwards: a Reply-To sending the answers
    // elsewhere, or a Cc.
    for (const char* field : {"Reply-To: thief@evil.example\r\n", "Cc: victim@bank.example\r\n"}) {
        std::string lacking = signed_message;
        lacking.insert(lacking.find("Subject: Quarterly"), field);
        CHECK_FALSE(dkimpy_verifies(lacking));
        CHECK(libopendkim_verdicts(lacking) ==
              std::vector<std::string>{"rsa-sha256 fail", "ed25519-sha256 fail"});
    }

    // Signing again reuses the parsed keys and gives the same verdicts.
    auto again = dns::dkim_sign(kMessage, signing);
    REQUIRE(again);
    CHECK(libopendkim_verdicts(*again + kMessage) ==
          std::vector<std::string>{"rsa-sha256 pass", "ed25519-sha256 pass"});
}

TEST_CASE("dkim_sign: folded headers, repeated fields, blank lines at the end, empty body",
          "[dkim][sign]") {
    std::vector<dns::DkimSigningKey> signing{
        {"example.com", keys().rsa.selector, "rsa-sha256", keys().rsa.private_pem},
        {"example.com", keys().ed.selector, "ed25519-sha256", keys().ed.private_pem}};
    const std::string folded =
        "From: a@example.com\r\n"
        "To:  b@dest.test ,\r\n\t c@dest.test\r\n"
        "Subject:\tA   long\r\n  folded subject \r\n"
        "Subject: a second Subject (both are signed)\r\n"
        "\r\n"
        "line\t with  tabs \r\n\r\n\r\n";
    auto sigs = dns::dkim_sign(folded, signing);
    REQUIRE(sigs);
    CHECK(dkimpy_verifies(*sigs + folded));
    CHECK(libopendkim_verdicts(*sigs + folded) ==
          std::vector<std::string>{"rsa-sha256 pass", "ed25519-sha256 pass"});
    const std::string empty = "From: a@example.com\r\nSubject: nothing\r\n\r\n";
    auto esigs = dns::dkim_sign(empty, signing);
    REQUIRE(esigs);
    CHECK(dkimpy_verifies(*esigs + empty));
    CHECK(libopendkim_verdicts(*esigs + empty) ==
          std::vector<std::string>{"rsa-sha256 pass", "ed25519-sha256 pass"});
    // A body of whitespace only, and one without a final CRLF (only dkimpy: libopendkim's
    // dkim_eom() does not finish such a body; it cannot arrive over SMTP).
    for (std::string body : {" \t \r\n  \r\n", "no final line end"}) {
        const std::string m = "From: a@example.com\r\n\r\n" + body;
        auto s = dns::dkim_sign(m, signing);
        REQUIRE(s);
        CHECK(dkimpy_verifies(*s + m));
        if (body.ends_with("\r\n"))
            CHECK(libopendkim_verdicts(*s + m) ==
                  std::vector<std::string>{"rsa-sha256 pass", "ed25519-sha256 pass"});
    }
}

TEST_CASE("dkim_sign refuses what it cannot sign", "[dkim][sign]") {
    std::vector<dns::DkimSigningKey> bad_alg{
        {"example.com", "s", "rsa-sha1", keys().rsa.private_pem}};
    CHECK(dns::dkim_sign(kMessage, bad_alg).error().code() == Errc::invalid_argument);
    std::vector<dns::DkimSigningKey> bad_key{{"example.com", "s", "rsa-sha256", "not a key"}};
    CHECK(dns::dkim_sign(kMessage, bad_key).error().code() == Errc::invalid_argument);
    // PEM armour around garbage.
    std::vector<dns::DkimSigningKey> bad_pem{
        {"example.com", "s", "rsa-sha256",
         "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n"}};
    CHECK(dns::dkim_sign(kMessage, bad_pem).error().code() == Errc::invalid_argument);
    // A key of the other algorithm's type, both ways (the parsed key is cached: ask twice).
    for (int i = 0; i < 2; ++i) {
        std::vector<dns::DkimSigningKey> ed_as_rsa{
            {"example.com", "s", "rsa-sha256", keys().ed.private_pem}};
        CHECK(dns::dkim_sign(kMessage, ed_as_rsa).error().code() == Errc::invalid_argument);
        std::vector<dns::DkimSigningKey> rsa_as_ed{
            {"example.com", "s", "ed25519-sha256", keys().rsa.private_pem}};
        CHECK(dns::dkim_sign(kMessage, rsa_as_ed).error().code() == Errc::invalid_argument);
    }
    std::vector<dns::DkimSigningKey> good{
        {"example.com", "s", "rsa-sha256", keys().rsa.private_pem}};
    CHECK(dns::dkim_sign("Subject: no From\r\n\r\nbody\r\n", good).error().code() ==
          Errc::invalid_argument);
    CHECK(dns::dkim_sign("no separator", {}).error().code() == Errc::invalid_argument);
}
