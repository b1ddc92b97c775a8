// Fuzz target: the mail-authentication evaluators on hostile DNS text (dns/spf.hpp,
// dns/dmarc.hpp), as smtpd runs them on every inbound message: SPF check_host() with its record
// parser and macro expansion, DMARC record parsing and policy discovery, and the From author
// domain. The input is fields separated by NUL bytes:
//   flags, the sender domain's TXT record, every other name's TXT record, the _dmarc TXT record,
//   the From header value
// The first byte of flags picks IPv4 or IPv6 for the client (0x01), which lookups fail (0x02
// temperror, 0x04 NXDOMAIN) and whether DKIM passed for the From domain (0x08); the second picks
// the DMARC pct sample. Answers other than TXT are fixed (A, AAAA,
// MX and PTR records that can match the client). Invariants checked:
// - SPF and DMARC discovery end; SPF asks at most the questions its limits allow (RFC 7208
//   §4.6.4: lookup_limit terms, each with up to mx_limit or ptr_limit address lookups, the PTR
//   lookups of %{p}, the record and the explanation), DMARC at most two;
// - a pass, fail, softfail or neutral names as its mechanism "default" or a term of one of the
//   TXT records, other results none; only a fail is explained; every permerror and temperror
//   reports a problem;
// - a parsed DMARC record keeps pct in 0..100, lowercase fo and rf, and only mailto:, http: and
//   https: report URIs; an author domain is lowercase ASCII without a trailing dot;
// - the DMARC verdict applies a disposition only to a fail, never a stronger one than the policy,
//   and passes only with SPF or DKIM aligned.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "common/ascii.hpp"
#include "dns/dmarc.hpp"
#include "dns/spf.hpp"
#include "invariant.hpp"

using namespace postern;
using namespace postern::dns;

namespace {

constexpr std::string_view kSenderDomain = "example.com";

struct Zone {
    unsigned flags = 0;
    std::string_view sender_txt, other_txt, dmarc_txt;

    // A failure picked by the flags for this name and type: temperror, NXDOMAIN, or none.
    std::optional<Status> failure(const Question& q) const {
        std::size_t h = std::hash<std::string>{}(q.name) ^ static_cast<std::size_t>(q.type);
        if ((flags & 0x02) && h % 7 == 0) return Status::temperror;
        if ((flags & 0x04) && h % 5 == 0) return Status::nxdomain;
        return std::nullopt;
    }

    Answer answer(const Question& q) const {
        Answer a;
        a.ttl = 300;
        if (auto f = failure(q)) {
            a.status = *f;
            return a;
        }
        a.status = Status::ok;
        switch (q.type) {
            case Type::TXT: {
                std::string_view txt = iequals_ascii(q.name, kSenderDomain) ? sender_txt
                                       : q.name.starts_with("_dmarc.")      ? dmarc_txt
                                                                            : other_txt;
                if (txt.empty())
                    a.status = Status::nodata;
                else
                    a.txt.emplace_back(txt);
                break;
            }
            case Type::A:
                a.addresses = {"192.0.2.1", "198.51.100.7"};
                break;
            case Type::AAAA:
                a.addresses = {"2001:db8::1"};
                break;
            case Type::MX:
                a.mx = {{10, "mx." + q.name}, {20, "backup.example.net"}};
                break;
            case Type::PTR:
                a.names = {"mail.example.com", "host.example.org"};
                break;
            case Type::CNAME:
                a.status = Status::nodata;
                break;
        }
        return a;
    }
};

std::vector<std::string_view> fields(std::string_view in, std::size_t n) {
    std::vector<std::string_view> out;
    while (out.size() + 1 < n) {
        const std::size_t nul = in.find('\0');
        if (nul == std::string_view::npos) break;
        out.push_back(in.substr(0, nul));
        in.remove_prefix(nul + 1);
    }
    out.push_back(in);
    out.resize(n);
    return out;
}

bool is_lower_ascii(std::string_view s) {
    for (unsigned char c : s)
        if (c >= 0x80 || (c >= 'A' && c <= 'Z')) return false;
    return true;
}

int strength(DmarcPolicy p) { return static_cast<int>(p); }  // none < quarantine < reject

void check_dmarc_record(const DmarcRecord& r) {
    FUZZ_CHECK(r.pct >= 0 && r.pct <= 100);
    FUZZ_CHECK(is_lower_ascii(r.fo));
    for (const auto& f : r.rf) FUZZ_CHECK(is_lower_ascii(f));
    for (const auto* list : {&r.rua, &r.ruf})
        for (const auto& u : *list) {
            std::string lower = u.uri;
            for (char& c : lower) c = ascii_lower(c);
            FUZZ_CHECK(lower.starts_with("mailto:") || lower.starts_with("http:") ||
                       lower.starts_with("https:"));
        }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto f = fields(std::string_view(reinterpret_cast<const char*>(data), size), 5);
    Zone zone;
    zone.flags = f[0].size() > 0 ? static_cast<unsigned char>(f[0][0]) : 0;
    const unsigned sample = f[0].size() > 1 ? static_cast<unsigned char>(f[0][1]) % 100 : 0;
    zone.sender_txt = f[1];
    zone.other_txt = f[2];
    zone.dmarc_txt = f[3];
    const std::string_view from = f[4];

    // SPF for MAIL FROM:<user@example.com>.
    const auto ip = IpAddress::parse((zone.flags & 0x01) ? "2001:db8::1" : "192.0.2.1");
    FUZZ_CHECK(ip.has_value());
    SpfRequest request;
    request.client = *ip;
    request.sender = "user@example.com";
    request.helo = "client.example.org";
    request.receiver = "mx.example.net";
    request.now = 1795000000;
    SpfOptions options;
    options.default_explanation = "see %{d}";
    SpfEvaluation spf(request, options);
    const int most = 1 +
                     options.lookup_limit * (1 + std::max(options.mx_limit, options.ptr_limit)) +
                     (1 + options.ptr_limit) + 1;
    int questions = 0;
    while (const Question* q = spf.next()) {
        FUZZ_CHECK(++questions <= most);
        spf.answer(zone.answer(*q));
    }
    const SpfResult& r = spf.result();
    const bool matched = r.kind == SpfKind::pass || r.kind == SpfKind::fail ||
                         r.kind == SpfKind::softfail || r.kind == SpfKind::neutral;
    FUZZ_CHECK(matched == !r.mechanism.empty());
    if (matched && r.mechanism != "default")  // a redirect may reach any record
        FUZZ_CHECK(f[1].find(r.mechanism) != std::string_view::npos ||
                   f[2].find(r.mechanism) != std::string_view::npos ||
                   f[3].find(r.mechanism) != std::string_view::npos);
    if (r.kind != SpfKind::fail) FUZZ_CHECK(r.explanation.empty());
    if (r.kind == SpfKind::permerror || r.kind == SpfKind::temperror)
        FUZZ_CHECK(!r.problem.empty());

    // DMARC: the record on its own, then discovery and the verdict for the From domain.
    if (auto parsed = parse_dmarc(zone.dmarc_txt)) check_dmarc_record(*parsed);
    auto author = author_domain(from);
    if (!author) return 0;
    FUZZ_CHECK(!author->empty() && is_lower_ascii(*author) && author->back() != '.');

    DmarcEvaluation dmarc(*author);
    questions = 0;
    while (const Question* q = dmarc.next()) {
        FUZZ_CHECK(++questions <= 2);
        dmarc.answer(zone.answer(*q));
    }
    if (dmarc.status() == DmarcEvaluation::Status::found) check_dmarc_record(dmarc.record());
    const DmarcDkim dkim[] = {{(zone.flags & 0x08) != 0, *author}};
    DmarcAuth auth;
    auth.spf = r.kind;
    auth.spf_domain = kSenderDomain;
    auth.dkim = dkim;
    const DmarcResult verdict = dmarc.evaluate(auth, sample);
    if (verdict.kind != DmarcResultKind::fail) FUZZ_CHECK(verdict.disposition == DmarcPolicy::none);
    FUZZ_CHECK(strength(verdict.disposition) <= strength(verdict.policy));
    if (verdict.kind == DmarcResultKind::pass)
        FUZZ_CHECK(verdict.spf_aligned || verdict.dkim_aligned);
    return 0;
}
