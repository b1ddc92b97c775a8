#include <catch2/catch.hpp>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "common/crypto.hpp"
#include "dns/onboarding.hpp"
#include "dns/static_zone.hpp"

using namespace postern;
using namespace postern::dns;

namespace {

DomainSetup make_setup() {
    DomainSetup s;
    s.domain = "agents.example.com";
    s.mx_host = "mx.postern.example";
    s.keys.push_back(*generate_dkim_key("rsa-sha256", "postern-rsa"));
    s.keys.push_back(*generate_dkim_key("ed25519-sha256", "postern-ed25519"));
    s.ownership_token = new_ownership_token();
    return s;
}

// A zone publishing exactly what the setup asks for.
StaticZone good_zone(const DomainSetup& s) {
    StaticZone z;
    z.add("mx.postern.example", Type::A, "192.0.2.25");
    for (const auto& r : expected_records(s)) {
        if (r.type == Type::MX) z.add(r.name, Type::MX, s.mx_host, 10);
        else z.add(r.name, Type::TXT, r.value);
    }
    return z;
}

std::vector<RecordCheck> run(const DomainSetup& s, const StaticZone& z) {
    DomainCheck check(s);
    int guard = 0;
    while (const Question* q = check.next()) {
        REQUIRE(++guard < 100);
        check.answer(z.resolve(*q));
    }
    return check.results();
}

const RecordCheck& find(const std::vector<RecordCheck>& rs, RecordKind kind, int nth = 0) {
    for (const auto& r : rs)
        if (r.expected.kind == kind && nth-- == 0) return r;
    FAIL("no such record");
    return rs.front();
}

}  // namespace

TEST_CASE("generated DKIM keys load back and match their published value", "[onboarding]") {
    for (std::string alg : {"rsa-sha256", "ed25519-sha256"}) {
        auto key = generate_dkim_key(alg, "sel");
        REQUIRE(key);
        BIO* bio = BIO_new_mem_buf(key->private_pem.data(), static_cast<int>(key->private_pem.size()));
        EVP_PKEY* pkey = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
        BIO_free(bio);
        REQUIRE(pkey != nullptr);
        if (alg == "rsa-sha256") {
            CHECK(EVP_PKEY_get_bits(pkey) == 2048);
            CHECK(dkim_record_value(*key).rfind("v=DKIM1; k=rsa; p=MIIB", 0) == 0);
        } else {
            unsigned char raw[32];
            size_t n = sizeof raw;
            REQUIRE(EVP_PKEY_get_raw_public_key(pkey, raw, &n) == 1);
            CHECK(base64_encode(std::string(reinterpret_cast<char*>(raw), n)) == key->public_b64);
            CHECK(key->public_b64.size() == 44);
        }
        EVP_PKEY_free(pkey);
    }
    CHECK_FALSE(generate_dkim_key("rsa-sha1", "x"));
}

TEST_CASE("expected records and the zone snippet", "[onboarding]") {
    auto s = make_setup();
    auto records = expected_records(s);
    REQUIRE(records.size() == 6);
    CHECK(records[0].value == "10 mx.postern.example.");
    CHECK(records[2].name == "postern-rsa._domainkey.agents.example.com");
    CHECK(records[5].name == "_postern-verify.agents.example.com");
    std::string zone = zone_snippet(records);
    CHECK(zone.find("agents.example.com. 3600 IN MX 10 mx.postern.example.\n") != std::string::npos);
    CHECK(zone.find("_dmarc.agents.example.com. 3600 IN TXT \"v=DMARC1; p=quarantine") !=
          std::string::npos);
    // The 2048-bit key is longer than one character-string: split, every piece <= 255.
    auto line_start = zone.find("postern-rsa._domainkey");
    auto line = zone.substr(line_start, zone.find('\n', line_start) - line_start);
    CHECK(line.find("( \"") != std::string::npos);
    std::size_t pieces = 0;
    for (std::size_t i = line.find('"'); i != std::string::npos; i = line.find('"', i + 1)) {
        auto end = line.find('"', i + 1);
        CHECK(end - i - 1 <= 255);
        i = end;
        ++pieces;
    }
    CHECK(pieces >= 2);
}

TEST_CASE("a domain publishing everything checks ok", "[onboarding]") {
    auto s = make_setup();
    auto results = run(s, good_zone(s));
    REQUIRE(results.size() == 6);
    for (const auto& r : results) {
        INFO(to_string(r.expected.kind) << ": " << r.hint);
        CHECK(r.status == CheckStatus::ok);
        CHECK(r.hint.empty());
    }
}

TEST_CASE("missing, altered and failing records are named with hints", "[onboarding]") {
    auto s = make_setup();
    StaticZone z;
    z.add("mx.postern.example", Type::A, "192.0.2.25");
    z.add(s.domain, Type::MX, "mx.elsewhere.example", 10);
    z.add(s.domain, Type::TXT, "v=spf1 ip4:198.51.100.0/24 -all");  // does not cover us
    z.add("postern-rsa._domainkey." + s.domain, Type::TXT, "v=DKIM1; k=rsa; p=AAAA");
    z.add("_dmarc." + s.domain, Type::TXT, "v=DMARC1; p=reject");
    z.add_timeout("_postern-verify." + s.domain);
    auto results = run(s, z);
    CHECK(find(results, RecordKind::mx).status == CheckStatus::mismatch);
    CHECK(find(results, RecordKind::mx).observed == std::vector<std::string>{"10 mx.elsewhere.example"});
    auto spf = find(results, RecordKind::spf);
    CHECK(spf.status == CheckStatus::mismatch);
    CHECK(spf.hint.find("fail") != std::string::npos);
    CHECK(find(results, RecordKind::dkim, 0).status == CheckStatus::mismatch);
    CHECK(find(results, RecordKind::dkim, 1).status == CheckStatus::missing);
    CHECK(find(results, RecordKind::dmarc).status == CheckStatus::ok);  // any valid policy
    CHECK(find(results, RecordKind::ownership).status == CheckStatus::error);

    StaticZone two_spf = good_zone(s);
    two_spf.add(s.domain, Type::TXT, "v=spf1 -all");
    CHECK(find(run(s, two_spf), RecordKind::spf).status == CheckStatus::mismatch);
}
