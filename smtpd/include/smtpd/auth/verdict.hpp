#pragma once
// Mail authentication of one received message (SPF, DKIM, DMARC), and what follows from it:
// accept it, file it as junk, or refuse it; the Authentication-Results header field (RFC 8601)
// and the JSON stored with the message. The DNS work happens elsewhere (the Asio shell drives
// the dns/ evaluators); everything here is pure and thread-safe.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dns/dkim_verify.hpp"
#include "dns/dmarc.hpp"
#include "dns/spf.hpp"

namespace postern::smtp::auth {

// What we do with the message.
enum class Disposition : std::uint8_t { accept, junk, reject };
std::string_view to_string(Disposition d);  // "accept", "junk", "reject"

// [auth] dmarc_reject_action: what a DMARC failure under p=reject gets.
enum class RejectAction : std::uint8_t { reject, quarantine };

struct Verdict {
    bool checked = false;  // false: the checks are off (Authentication-Results: <id>; none)
    dns::SpfResult spf;
    std::string mailfrom;  // MAIL FROM as given; "" for the null reverse-path
    std::string helo;
    std::vector<dns::DkimResult> dkim;  // one per DKIM-Signature, in header order; none: unsigned
    dns::DmarcResult dmarc;
    std::string from_domain;  // the RFC5322.From domain; "" when there is none to use
    Disposition disposition = Disposition::accept;
    std::string reason;  // reject: the text of "550 5.7.1 <reason>"
};

// The RFC5322.From domain from every From field value (RFC 7489 §6.6.1). `kind` is none when
// there is no address at all (DMARC does not apply), permerror when the domain is invalid or
// the addresses name different domains (DMARC cannot apply; reported, no policy applied).
struct AuthorDomain {
    std::string domain;  // lowercase A-label, when kind is pass
    dns::DmarcResultKind kind = dns::DmarcResultKind::none;
    std::string problem;
};
AuthorDomain author_domain(const std::vector<std::string>& from_values);
// What a From that names no single domain earns (addresses in several domains, or none that
// parses: kind permerror). DMARC has no policy to apply, yet that is how a spoofer shows people a
// trusted name, so such mail is stored as junk (RFC 7489 §6.6.1 allows refusing it; we keep it).
// Anything else: accept (the DMARC verdict decides).
Disposition author_disposition(const AuthorDomain& author);

// The DMARC verdict from policy discovery and the SPF and DKIM results (RFC 7489 §6.6.2:
// SPF counts through the domain it checked, DKIM through the d= of passing signatures).
// `sample` is a random integer in [0, 100) for pct.
dns::DmarcResult evaluate_dmarc(const dns::DmarcEvaluation& discovery, const dns::SpfResult& spf,
                                const std::vector<dns::DkimResult>& dkim, unsigned sample);

// DMARC result → disposition: a failure gets what the policy asks after pct (reject subject to
// `action`); pass, none, temperror and permerror are accepted (never reject on temperror).
struct Decision {
    Disposition disposition = Disposition::accept;
    std::string reason;  // reject only
};
Decision decide(const dns::DmarcResult& dmarc, std::string_view from_domain, RejectAction action);

// The whole header field, CRLF-terminated and folded before 78 octets where it can be:
//
//   Authentication-Results: mx.example;
//   <TAB>spf=pass smtp.mailfrom=a@b.example;
//   <TAB>dkim=pass header.d=b.example header.s=sel header.a=rsa-sha256 header.b=abcdefgh;
//   <TAB>dmarc=pass (p=reject dis=none) header.from=b.example
//
// One dkim= per signature, dkim=none when unsigned; "<id>; none" when !v.checked. Values from
// the message (d=, s=, addresses) are written as RFC 8601 pvalues, quoted when they are not
// plain tokens, so that they cannot add results of their own.
std::string format_authentication_results(std::string_view authserv_id, const Verdict& v);

// The stored form (messages.auth_json); "" when !v.checked:
// {"spf":{"result","domain","identity","mailfrom","helo","mechanism","problem"},
//  "dkim":[{"result","domain","selector","algorithm","identity","header_b","testing",
//           "reason"}],
//  "dmarc":{"result","policy","disposition","from_domain","policy_domain","spf_aligned",
//           "dkim_aligned","problem"},
//  "action":"accept"|"junk"}
std::string auth_json(const Verdict& v);

}  // namespace postern::smtp::auth
