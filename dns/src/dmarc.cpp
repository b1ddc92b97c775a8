// DMARC: Organizational Domain, alignment, author domain and the verdict (RFC 7489 §3, §6.6).
#include "dns/dmarc.hpp"

#include <libpsl.h>

#include <memory>

namespace postern::dns {
namespace {

constexpr const char* kDebianPsl = "/usr/share/publicsuffix/public_suffix_list.dat";

struct PslDeleter {
    void operator()(psl_ctx_t* p) const { psl_free(p); }
};

// Loaded once per process; a psl_ctx_t is read-only afterwards, so any thread may query it.
// Debian's file is preferred: it is updated with the publicsuffix package, while the list
// compiled into libpsl ages with the library.
const psl_ctx_t* psl() {
    static const std::unique_ptr<psl_ctx_t, PslDeleter> loaded(psl_load_file(kDebianPsl));
    static const psl_ctx_t* ctx = loaded ? loaded.get() : psl_builtin();
    return ctx;
}

// Lowercase ASCII with one trailing dot removed; "" when a label is empty.
std::string canonical(std::string_view name) {
    if (!name.empty() && name.back() == '.') name.remove_suffix(1);
    if (name.empty() || name.front() == '.' || name.find("..") != std::string_view::npos) return {};
    std::string out(name);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

}  // namespace

std::string_view to_string(DmarcPolicy p) {
    switch (p) {
        case DmarcPolicy::none:
            return "none";
        case DmarcPolicy::quarantine:
            return "quarantine";
        case DmarcPolicy::reject:
            return "reject";
    }
    return "none";
}

std::string_view to_string(DmarcResultKind k) {
    switch (k) {
        case DmarcResultKind::none:
            return "none";
        case DmarcResultKind::pass:
            return "pass";
        case DmarcResultKind::fail:
            return "fail";
        case DmarcResultKind::temperror:
            return "temperror";
        case DmarcResultKind::permerror:
            return "permerror";
    }
    return "none";
}

std::string organizational_domain(std::string_view domain) {
    std::string name = canonical(domain);
    if (name.empty() || psl() == nullptr) return name;
    const char* reg = psl_registrable_domain(psl(), name.c_str());
    // NULL: the name is itself a public suffix (or has no registrable part); it stands alone.
    return reg ? std::string(reg) : name;
}

bool dmarc_aligned(std::string_view from_domain, std::string_view auth_domain,
                   DmarcAlignment mode) {
    const std::string from = canonical(from_domain);
    const std::string auth = canonical(auth_domain);
    if (from.empty() || auth.empty()) return false;
    if (from == auth) return true;
    if (mode == DmarcAlignment::strict) return false;
    return organizational_domain(from) == organizational_domain(auth);
}

DmarcResult evaluate_dmarc(const DmarcRecord& record, bool subdomain_policy,
                           std::string_view from_domain, const DmarcAuth& auth, unsigned sample) {
    DmarcResult r;
    r.policy = subdomain_policy ? record.sp : record.p;
    // §3.1 / §4.2: pass when an authenticated identifier is aligned with the From domain.
    r.spf_aligned =
        auth.spf == SpfKind::pass && dmarc_aligned(from_domain, auth.spf_domain, record.aspf);
    for (const DmarcDkim& d : auth.dkim) {
        if (d.pass && dmarc_aligned(from_domain, d.domain, record.adkim)) {
            r.dkim_aligned = true;
            break;
        }
    }
    if (r.spf_aligned || r.dkim_aligned) {
        r.kind = DmarcResultKind::pass;
        return r;
    }
    r.kind = DmarcResultKind::fail;
    // §6.6.4: messages outside the pct sample get the next weaker policy.
    if (sample < static_cast<unsigned>(record.pct)) {
        r.disposition = r.policy;
    } else {
        r.disposition =
            r.policy == DmarcPolicy::reject ? DmarcPolicy::quarantine : DmarcPolicy::none;
    }
    return r;
}

}  // namespace postern::dns
