#pragma once
// DKIM verification (RFC 6376; RFC 8463 ed25519-sha256; RFC 8301 algorithm and key-size rules)
// as a sans-I/O state machine over libopendkim. The key records are not fetched by the library:
// the verification asks for them as TXT questions and the caller answers them, from c-ares in
// the daemon or from a table in tests:
//
//     DkimVerification v(message);               // parses and hashes; keeps no view of it
//     while (const Question* q = v.next()) v.answer(resolve(*q));
//     for (const DkimResult& r : v.results()) ...  // one per DKIM-Signature, in header order
//
// Callers that resolve in parallel take questions() at once and answer(question, answer) in
// any order. A question left unanswered when results() is called counts as a DNS temporary
// failure for the signatures that needed it.
//
// The message must use CRLF line ends (the SMTP layer guarantees it; tests convert LF files).
// Malformed input never throws: it gives neutral/permerror/fail results, or none at all when
// no DKIM-Signature header can be found. A DkimVerification is owned by one caller and used
// from one thread at a time; different verifications may run on different threads at once.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dns/types.hpp"

namespace postern::dns {

// RFC 8601 §2.7.1 vocabulary for method "dkim".
enum class DkimStatus : std::uint8_t { none, pass, fail, policy, neutral, temperror, permerror };
std::string_view to_string(DkimStatus status);  // "pass", "fail", ...

struct DkimResult {
    DkimStatus status = DkimStatus::none;
    std::string domain;     // d=, as written ("" when missing)
    std::string selector;   // s=
    std::string algorithm;  // a=, lowercased: "rsa-sha256", "ed25519-sha256", "rsa-sha1"
    std::string identity;   // i= (quoted-printable decoded), or "@" + d= when absent or
                            // malformed (not printable UTF-8 with an '@' once decoded)
    std::string header_b;   // header.b (RFC 6008): the shortest prefix of b= of at least
                            // 8 characters that no other signature of the message shares
    std::optional<std::uint64_t> body_length;  // l=, when the signature covers only a prefix
    bool testing = false;                      // the key says t=y (signer is testing)
    std::string reason;                        // human-readable detail, "" for a plain pass
};

struct DkimVerifyOptions {
    // Unix seconds at which x= (expiry) and t= (future-dated) are judged; nullopt: the system
    // clock. 300 seconds of drift are allowed either way, as libopendkim does.
    std::optional<std::int64_t> now;
    // Signatures verified at most, in header order, counting only those that need a key
    // lookup. The rest are reported as `policy` ("too many signatures") without DNS.
    std::size_t max_signatures = 5;
};

namespace dkim {
struct State;  // libopendkim handles and the per-signature bookkeeping; private
}

// One message's verification. Movable (a moved-from one may only be destroyed or assigned to);
// not copyable. Header and body hashing happen in the constructor, which keeps no reference to
// the message; the signature checks happen in the first call of results().
class DkimVerification {
 public:
    explicit DkimVerification(std::string_view message, const DkimVerifyOptions& options = {});
    ~DkimVerification();
    DkimVerification(DkimVerification&&) noexcept;
    DkimVerification& operator=(DkimVerification&&) noexcept;

    // The key questions (TXT <s>._domainkey.<d>, lowercased, deduplicated), in header order.
    const std::vector<Question>& questions() const;
    // The first question not answered yet, or nullptr. Valid until the next answer().
    const Question* next() const;
    // Answers next(). Ignored when nothing is pending.
    void answer(const Answer& answer);
    // Answers `question` (one of questions()); ignored when it is not one of them.
    void answer(const Question& question, const Answer& answer);
    bool done() const { return next() == nullptr; }

    // One result per DKIM-Signature header field, in header order; empty for an unsigned
    // message (report dkim=none). The first call verifies; later calls return the same vector.
    const std::vector<DkimResult>& results();

 private:
    std::unique_ptr<dkim::State> state_;
};

// Runs a verification to the end with a synchronous resolver: for tests and tools.
std::vector<DkimResult> verify_dkim(const std::function<Answer(const Question&)>& resolve,
                                    std::string_view message,
                                    const DkimVerifyOptions& options = {});

}  // namespace postern::dns
