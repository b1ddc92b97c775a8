// The decisions of mail authentication: the author domain, the DMARC verdict, the disposition.
#include "smtpd/auth/verdict.hpp"

namespace postern::smtp::auth {

std::string_view to_string(Disposition d) {
    switch (d) {
        case Disposition::accept:
            return "accept";
        case Disposition::junk:
            return "junk";
        case Disposition::reject:
            return "reject";
    }
    return "accept";
}

AuthorDomain author_domain(const std::vector<std::string>& from_values) {
    AuthorDomain a;
    if (from_values.empty()) {
        a.problem = "no From header field";
        return a;
    }
    // Several From fields are read as one list: one domain among them all is still a domain
    // (RFC 7489 §6.6.1), different ones are not.
    std::string joined;
    for (const auto& v : from_values) {
        if (!joined.empty()) joined += ", ";
        joined += v;
    }
    auto domain = dns::author_domain(joined);
    if (domain) {
        a.domain = std::move(*domain);
        a.kind = dns::DmarcResultKind::pass;
        return a;
    }
    if (domain.error().code() == Errc::not_found) {
        a.problem = "no address in From";
        return a;
    }
    a.kind = dns::DmarcResultKind::permerror;
    a.problem = from_values.size() > 1 ? "several From fields: " + domain.error().message()
                                       : domain.error().message();
    return a;
}

Disposition author_disposition(const AuthorDomain& author) {
    return author.kind == dns::DmarcResultKind::permerror ? Disposition::junk : Disposition::accept;
}

dns::DmarcResult evaluate_dmarc(const dns::DmarcEvaluation& discovery, const dns::SpfResult& spf,
                                const std::vector<dns::DkimResult>& dkim, unsigned sample) {
    std::vector<dns::DmarcDkim> signatures;
    signatures.reserve(dkim.size());
    for (const auto& d : dkim)
        signatures.push_back(dns::DmarcDkim{d.status == dns::DkimStatus::pass, d.domain});
    dns::DmarcAuth auth;
    auth.spf = spf.kind;
    auth.spf_domain = spf.domain;
    auth.dkim = signatures;
    return discovery.evaluate(auth, sample);
}

Decision decide(const dns::DmarcResult& dmarc, std::string_view from_domain, RejectAction action) {
    Decision d;
    if (dmarc.kind != dns::DmarcResultKind::fail) return d;
    switch (dmarc.disposition) {
        case dns::DmarcPolicy::none:
            return d;
        case dns::DmarcPolicy::quarantine:
            d.disposition = Disposition::junk;
            return d;
        case dns::DmarcPolicy::reject:
            if (action == RejectAction::quarantine) {
                d.disposition = Disposition::junk;
                return d;
            }
            d.disposition = Disposition::reject;
            d.reason = "Unauthenticated mail from ";
            d.reason += from_domain;
            d.reason += " is refused by its DMARC policy";
            return d;
    }
    return d;
}

}  // namespace postern::smtp::auth
