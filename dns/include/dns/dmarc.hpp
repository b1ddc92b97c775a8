#pragma once
// DMARC (RFC 7489): the policy record, the Organizational Domain (Public Suffix List through
// libpsl), identifier alignment, policy discovery as a sans-I/O state machine, and the verdict.
//
//     DmarcEvaluation d(from_domain);
//     while (const Question* q = d.next()) d.answer(resolve(*q));
//     DmarcResult r = d.evaluate(auth, random_below_100);
//
// No sockets, clocks or randomness inside: the pct sample is an argument. All functions are
// thread-safe; a DmarcEvaluation is used by one thread at a time.
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "dns/spf.hpp"
#include "dns/types.hpp"

namespace postern::dns {

enum class DmarcPolicy : std::uint8_t { none, quarantine, reject };
enum class DmarcAlignment : std::uint8_t { relaxed, strict };
std::string_view to_string(DmarcPolicy p);

struct DmarcUri {
    std::string uri;             // as written, e.g. "mailto:dmarc@example.com"
    std::uint64_t max_size = 0;  // "!10m" → 10485760 bytes (units are powers of 1024); 0: none
    bool operator==(const DmarcUri&) const = default;
};

// A parsed record. Optional tags that are missing or invalid hold their defaults (§6.3).
struct DmarcRecord {
    DmarcPolicy p = DmarcPolicy::none;
    DmarcPolicy sp = DmarcPolicy::none;  // p when the record has no sp
    DmarcAlignment adkim = DmarcAlignment::relaxed;
    DmarcAlignment aspf = DmarcAlignment::relaxed;
    int pct = 100;
    std::string fo = "0";                 // lowercase, colon-separated: "0", "d:s"
    std::vector<std::string> rf{"afrf"};  // lowercase report formats
    std::uint32_t ri = 86400;             // seconds
    std::vector<DmarcUri> rua, ruf;       // mailto:, http:, https: URIs only
    bool p_from_rua = false;  // no valid p (or an invalid sp), acting as p=none because rua has
                              // a usable URI (§6.6.3 step 6)
};

// Whether a TXT record is a DMARC record at all: its first tag is "v=DMARC1" (§6.6.3 step 3;
// "DMARC1" is case-sensitive in the ABNF).
bool is_dmarc_record(std::string_view txt);

// Parses a record. Errc::invalid_argument when it is not a DMARC record, or when it has no
// valid p (or an invalid sp) and no usable rua: then DMARC does not apply (§6.6.3 step 6).
[[nodiscard]] Result<DmarcRecord> parse_dmarc(std::string_view txt);

// §3.2: the registrable domain by the Public Suffix List (public suffix + one label), or the
// name itself when it is a public suffix. Lowercase, A-labels, no trailing dot. The list is
// Debian's /usr/share/publicsuffix/public_suffix_list.dat when present, else libpsl's own.
std::string organizational_domain(std::string_view domain);

// §3.1: strict compares the names (ASCII case-insensitive, one trailing dot ignored); relaxed
// compares their Organizational Domains. A name with an empty label never aligns.
bool dmarc_aligned(std::string_view from_domain, std::string_view auth_domain, DmarcAlignment mode);

// §6.6.1: the author domain of a From header field value (unfolded), as an A-label in
// lowercase. Deliberately lenient, like OpenDMARC: comments and quoted strings are skipped and
// the address is taken from the angle brackets if any, so that a From a strict RFC 5322 parser
// rejects but a mail client still shows cannot slip past DMARC. Errc::not_found without any
// address (outside DMARC's scope); Errc::invalid_argument for an invalid domain, or for several
// addresses in different domains (the RFC lets the receiver reject such a message; we apply
// no policy and report it, as Mail::DMARC does).
[[nodiscard]] Result<std::string> author_domain(std::string_view from_value);

// What authenticated the message, as DMARC uses it.
struct DmarcDkim {
    bool pass = false;
    std::string_view domain;  // the signature's d=
};
struct DmarcAuth {
    SpfKind spf = SpfKind::none;
    std::string_view spf_domain;  // the MAIL FROM domain (the HELO name for the null sender)
    std::span<const DmarcDkim> dkim;
};

enum class DmarcResultKind : std::uint8_t { none, pass, fail, temperror, permerror };
std::string_view to_string(DmarcResultKind k);

struct DmarcResult {
    DmarcResultKind kind = DmarcResultKind::none;
    DmarcPolicy policy = DmarcPolicy::none;       // what the domain asks for: p, or sp
    DmarcPolicy disposition = DmarcPolicy::none;  // what to do: policy after pct; none unless fail
    bool spf_aligned = false;
    bool dkim_aligned = false;
    std::string domain;   // where the record was found (the name under _dmarc.)
    std::string problem;  // temperror / permerror: why
};

// The verdict for one message under `record`. `subdomain_policy`: the record was found at the
// Organizational Domain of a From domain below it, so sp applies. `sample` is a random integer
// in [0, 100): the policy applies when sample < pct, else the next weaker one (§6.6.4).
DmarcResult evaluate_dmarc(const DmarcRecord& record, bool subdomain_policy,
                           std::string_view from_domain, const DmarcAuth& auth, unsigned sample);

// Policy discovery (§6.6.3): _dmarc.<From domain> TXT, then _dmarc.<Organizational Domain> when
// the first has no DMARC record at all.
class DmarcEvaluation {
 public:
    explicit DmarcEvaluation(std::string_view from_domain);

    const Question* next() const { return waiting_ ? &question_ : nullptr; }
    void answer(const Answer& answer);
    bool done() const { return !waiting_; }

    enum class Status : std::uint8_t { found, none, temperror, permerror };
    Status status() const { return status_; }
    const DmarcRecord& record() const { return record_; }         // when found
    const std::string& policy_domain() const { return domain_; }  // when found
    bool subdomain_policy() const { return subdomain_; }          // found at the org domain
    const std::string& problem() const { return problem_; }

    // The verdict; call once done(). See evaluate_dmarc().
    DmarcResult evaluate(const DmarcAuth& auth, unsigned sample) const;

 private:
    void ask(std::string_view domain);
    void end(Status s, std::string problem = {});

    std::string from_;
    std::string org_;
    std::string domain_;  // the name being asked about, then where the record was found
    Question question_;
    bool waiting_ = false;
    bool at_org_ = false;
    bool subdomain_ = false;
    Status status_ = Status::none;
    DmarcRecord record_;
    std::string problem_;
};

// Runs discovery with a synchronous resolver, then evaluates: for tests and tools.
DmarcResult evaluate_dmarc(const std::function<Answer(const Question&)>& resolve,
                           std::string_view from_domain, const DmarcAuth& auth, unsigned sample);

}  // namespace postern::dns
