#pragma once
// Domain onboarding: the DKIM keys and ownership token a hosted domain gets, the five kinds of
// DNS record the admin must publish (MX, SPF, one DKIM TXT per key, DMARC, ownership), a BIND
// zone snippet of them, and a sans-I/O check that compares what DNS serves with what is expected:
//
//     DomainCheck check(setup);
//     while (const Question* q = check.next()) check.answer(resolve(*q));
//     for (const RecordCheck& r : check.results()) ...
//
// Key generation uses OpenSSL and is thread-safe; DomainCheck is used by one thread at a time.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "dns/types.hpp"

namespace postern::dns {

struct DkimKey {
    std::string selector;     // e.g. "postern-rsa"
    std::string algorithm;    // "rsa-sha256" or "ed25519-sha256"
    std::string private_pem;  // PKCS#8 PEM: a secret, never logged or served
    std::string public_b64;   // the p= value: SPKI DER for RSA, the raw 32 bytes for Ed25519
};

// "rsa-sha256" (2048-bit) or "ed25519-sha256" (RFC 8463).
[[nodiscard]] Result<DkimKey> generate_dkim_key(std::string_view algorithm, std::string selector);
// The TXT value to publish at <selector>._domainkey.<domain>.
std::string dkim_record_value(const DkimKey& key);
// A fresh random ownership token (URL-safe, 128 bits).
std::string new_ownership_token();

struct DomainSetup {
    std::string domain;   // lowercase A-label
    std::string mx_host;  // this server's host name (the MX target)
    std::vector<DkimKey> keys;
    std::string ownership_token;
};

enum class RecordKind : std::uint8_t { mx, spf, dkim, dmarc, ownership };
std::string_view to_string(RecordKind kind);

struct ExpectedRecord {
    RecordKind kind = RecordKind::mx;
    std::string name;      // owner name, absolute without the trailing dot
    Type type = Type::TXT;
    std::string value;     // MX: "10 mx.example.net."; TXT: the text (unsplit, unquoted)
    std::string selector;  // dkim only
};

std::vector<ExpectedRecord> expected_records(const DomainSetup& setup);
// BIND master-file lines; TXT values are split into quoted strings of at most 255 octets.
std::string zone_snippet(const std::vector<ExpectedRecord>& records, std::uint32_t ttl = 3600);

enum class CheckStatus : std::uint8_t { ok, missing, mismatch, error };
std::string_view to_string(CheckStatus status);

struct RecordCheck {
    ExpectedRecord expected;
    CheckStatus status = CheckStatus::error;
    std::vector<std::string> observed;  // what DNS served at that name (MX as "pref host")
    std::string hint;                   // what to do about it; empty when ok
};

// Looks every expected record up. MX is ok when any MX of the domain points at mx_host; SPF is
// ok when the domain's one SPF record gives `pass` for mx_host's first address (evaluated with
// the SPF engine, so existing includes keep working); DKIM is ok when the published p= equals
// the key's; DMARC is ok when one valid DMARC record is published (any policy); ownership is ok
// when the token is among the TXT strings at _postern-verify.<domain>.
class DomainCheck {
   public:
    explicit DomainCheck(DomainSetup setup);
    ~DomainCheck();
    DomainCheck(DomainCheck&&) noexcept;
    DomainCheck& operator=(DomainCheck&&) noexcept;

    const Question* next() const;
    void answer(const Answer& answer);
    bool done() const { return next() == nullptr; }
    const std::vector<RecordCheck>& results() const;  // complete once done()

   private:
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace postern::dns

namespace postern::dns {
// The check results as JSON: [{"kind","name","type","expected","observed":[..],"status","hint"}]
// (the shape of `postern domain check --json` and POST /v1/domains/{id}/verify's "records").
std::string check_results_json(const std::vector<RecordCheck>& results);
// Whether the results verify ownership, SPF and DKIM (every DKIM key).
struct Verified {
    bool ownership = false, spf = false, dkim = false;
};
Verified verified(const std::vector<RecordCheck>& results);
}  // namespace postern::dns
