#include "resolver_reply.hpp"

#include <ares.h>
#include <arpa/inet.h>
#include <netdb.h>

#include <algorithm>
#include <limits>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "common/ascii.hpp"

namespace postern::dns::reply {
namespace {

constexpr int kClassIn = 1;
constexpr int kTypeCname = 5;
constexpr int kTypeSoa = 6;
constexpr std::size_t kHeader = 12;
constexpr std::uint32_t kNoTtl = std::numeric_limits<std::uint32_t>::max();

struct AresFree {
    void operator()(char* s) const { ares_free_string(s); }
    void operator()(hostent* h) const { ares_free_hostent(h); }
    void operator()(void* d) const { ares_free_data(d); }
};
template <class T>
using AresPtr = std::unique_ptr<T, AresFree>;

// What the answer and authority sections say beyond the records c-ares parses for us.
struct Scan {
    std::uint32_t answer_ttl = kNoTtl;  // the lowest TTL in the answer section
    std::size_t matching = 0;           // answer records of the type asked for
    std::vector<std::pair<std::string, std::string>> cnames;  // owner -> target
    std::optional<std::uint32_t> soa_ttl;  // min(TTL, MINIMUM) of an SOA in the authority section
    bool bad_cname = false;  // a CNAME in the answer names no host (Postfix fails the reply too)
};

// A bounded cursor over the reply; names are expanded by c-ares (compression, bounds, loops).
class Reader {
 public:
    Reader(const unsigned char* buf, int len) : buf_(buf), len_(static_cast<std::size_t>(len)) {}

    bool skip(std::size_t n) {
        if (len_ - pos_ < n) return false;
        pos_ += n;
        return true;
    }
    bool u16(std::uint16_t& v) {
        if (len_ - pos_ < 2) return false;
        v = static_cast<std::uint16_t>(buf_[pos_] << 8 | buf_[pos_ + 1]);
        pos_ += 2;
        return true;
    }
    bool u32(std::uint32_t& v) {
        std::uint16_t hi = 0, lo = 0;
        if (!u16(hi) || !u16(lo)) return false;
        v = static_cast<std::uint32_t>(hi) << 16 | lo;
        return true;
    }
    bool name(std::string* out) {
        if (pos_ >= len_) return false;
        char* s = nullptr;
        long used = 0;
        if (ares_expand_name(buf_ + pos_, buf_, static_cast<int>(len_), &s, &used) != ARES_SUCCESS)
            return false;
        AresPtr<char> owned(s);
        if (used <= 0 || static_cast<std::size_t>(used) > len_ - pos_) return false;
        pos_ += static_cast<std::size_t>(used);
        if (out) *out = s;
        return true;
    }
    std::size_t pos() const { return pos_; }
    void seek(std::size_t p) { pos_ = p; }

 private:
    const unsigned char* buf_;
    std::size_t len_;
    std::size_t pos_ = 0;
};

std::string strip_dot(std::string s) {
    if (!s.empty() && s.back() == '.') s.pop_back();
    return s;
}

// Whether a name from record data is one a host can have: labels of letters, digits, '-' and '_'
// (Postfix allows it too), 1 to 63 long, 253 octets in all. A CNAME target (`alias`) may also
// hold '/' and '*', as the names of RFC 2317 classless reverse delegation do (c-ares allows the
// same). Anything else, such as a label holding a dot (which c-ares writes as "\."), a space or
// a control character, is a policy choice to refuse, as Postfix refuses a "malformed domain
// name" in record data: MX and PTR targets so named are dropped, and such a CNAME fails the reply.
bool is_host_name(std::string_view name, bool alias = false) {
    if (name.empty() || name.size() > 253) return false;
    std::size_t label = 0;
    for (const char c : name) {
        if (c == '.') {
            if (label == 0) return false;
            label = 0;
            continue;
        }
        const bool ldh = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9') || c == '-' || c == '_' ||
                         (alias && (c == '/' || c == '*'));
        if (!ldh || ++label > 63) return false;
    }
    return label > 0;
}

// RFC 2181 §8: a TTL with the top bit set is read as zero.
std::uint32_t sane_ttl(std::uint32_t ttl) { return ttl > 0x7fffffffu ? 0 : ttl; }

bool scan(const unsigned char* abuf, int alen, int qtype, Scan& out) {
    if (abuf == nullptr || alen < static_cast<int>(kHeader)) return false;
    Reader r(abuf, alen);
    std::uint16_t id = 0, flags = 0, qd = 0, an = 0, ns = 0, ar = 0;
    if (!r.u16(id) || !r.u16(flags) || !r.u16(qd) || !r.u16(an) || !r.u16(ns) || !r.u16(ar))
        return false;
    for (int i = 0; i < qd; ++i)
        if (!r.name(nullptr) || !r.skip(4)) return false;
    for (int i = 0; i < an + ns; ++i) {
        const bool answer = i < an;
        std::string owner;
        std::uint16_t type = 0, klass = 0, rdlength = 0;
        std::uint32_t ttl = 0;
        if (!r.name(&owner) || !r.u16(type) || !r.u16(klass) || !r.u32(ttl) || !r.u16(rdlength))
            return false;
        ttl = sane_ttl(ttl);
        const std::size_t rdata = r.pos();
        if (!r.skip(rdlength)) return false;
        if (klass != kClassIn) continue;
        if (answer) {
            out.answer_ttl = std::min(out.answer_ttl, ttl);
            if (type == qtype) ++out.matching;
            if (type == kTypeCname) {
                std::string target;
                r.seek(rdata);
                if (!r.name(&target) || r.pos() != rdata + rdlength) return false;
                target = strip_dot(std::move(target));
                if (!is_host_name(target, true)) out.bad_cname = true;
                out.cnames.emplace_back(std::move(owner), std::move(target));
            }
        } else if (type == kTypeSoa && !out.soa_ttl) {
            std::uint32_t fields[5];
            r.seek(rdata);
            if (!r.name(nullptr) || !r.name(nullptr)) return false;
            for (std::uint32_t& f : fields)
                if (!r.u32(f)) return false;
            if (r.pos() != rdata + rdlength) return false;
            out.soa_ttl = std::min(ttl, sane_ttl(fields[4]));
        }
    }
    return true;
}

// Follows the chain from `name`; nullopt for a loop.
std::optional<std::string> chase(const Scan& s, std::string_view name) {
    std::string at(name);
    for (std::size_t hops = 0; hops <= s.cnames.size(); ++hops) {
        const auto link = std::find_if(s.cnames.begin(), s.cnames.end(),
                                       [&](const auto& l) { return iequals_ascii(l.first, at); });
        if (link == s.cnames.end()) return at;
        at = link->second;
    }
    return std::nullopt;
}

void addresses(const hostent* h, Answer& a) {
    char text[INET6_ADDRSTRLEN];
    for (char** p = h->h_addr_list; p && *p; ++p)
        if (inet_ntop(h->h_addrtype, *p, text, sizeof text)) a.addresses.emplace_back(text);
}

// The records of `type` from a reply that has some; the ares status of the parser. `dropped`
// counts the records whose target is not a host name.
int records(Type type, const unsigned char* abuf, int alen, Answer& a, int& dropped) {
    switch (type) {
        case Type::A:
        case Type::AAAA: {
            hostent* h = nullptr;
            const int st = type == Type::A
                               ? ares_parse_a_reply(abuf, alen, &h, nullptr, nullptr)
                               : ares_parse_aaaa_reply(abuf, alen, &h, nullptr, nullptr);
            AresPtr<hostent> owned(h);
            if (st == ARES_SUCCESS) addresses(h, a);
            return st;
        }
        case Type::MX: {
            ares_mx_reply* mx = nullptr;
            const int st = ares_parse_mx_reply(abuf, alen, &mx);
            AresPtr<void> owned(mx);
            for (auto* m = mx; st == ARES_SUCCESS && m; m = m->next) {
                std::string host = strip_dot(m->host ? m->host : "");
                if (host.empty() || is_host_name(host))  // empty: a null MX (RFC 7505)
                    a.mx.push_back(Mx{m->priority, std::move(host)});
                else
                    ++dropped;
            }
            std::stable_sort(a.mx.begin(), a.mx.end(),
                             [](const Mx& x, const Mx& y) { return x.preference < y.preference; });
            return st;
        }
        case Type::TXT: {
            ares_txt_ext* txt = nullptr;
            const int st = ares_parse_txt_reply_ext(abuf, alen, &txt);
            AresPtr<void> owned(txt);
            for (auto* t = txt; st == ARES_SUCCESS && t; t = t->next) {
                // Each record's character-strings come as pieces; record_start marks the first.
                if (t->record_start || a.txt.empty()) a.txt.emplace_back();
                a.txt.back().append(reinterpret_cast<const char*>(t->txt), t->length);
            }
            return st;
        }
        case Type::PTR: {
            // c-ares copies an address into the hostent it builds; give it a dummy one.
            const unsigned char dummy[4] = {0, 0, 0, 0};
            hostent* h = nullptr;
            const int st = ares_parse_ptr_reply(abuf, alen, dummy, sizeof dummy, AF_INET, &h);
            AresPtr<hostent> owned(h);
            // c-ares 1.17.2 and later refuse such a PTR reply as a whole (CVE-2021-3672).
            for (char** p = h ? h->h_aliases : nullptr; st == ARES_SUCCESS && p && *p; ++p) {
                std::string target = strip_dot(*p);
                if (is_host_name(target))
                    a.names.push_back(std::move(target));
                else
                    ++dropped;
            }
            return st;
        }
        case Type::CNAME:
            return ARES_ENODATA;  // handled from the scan
    }
    return ARES_ENODATA;
}

Answer failed(Status s) {
    Answer a;
    a.status = s;
    return a;
}

}  // namespace

int rr_type(Type type) {
    switch (type) {
        case Type::A:
            return 1;
        case Type::AAAA:
            return 28;
        case Type::MX:
            return 15;
        case Type::TXT:
            return 16;
        case Type::PTR:
            return 12;
        case Type::CNAME:
            return kTypeCname;
    }
    return 1;
}

Parsed read(Type type, std::string_view name, int status, const unsigned char* abuf, int alen,
            std::uint32_t negative_ttl) {
    Parsed p;
    if (status != ARES_SUCCESS && status != ARES_ENODATA && status != ARES_ENOTFOUND) {
        // Timeouts, SERVFAIL, REFUSED, connection refused, a reply c-ares could not read.
        p.answer = failed(status == ARES_EBADNAME ? Status::permerror : Status::temperror);
        return p;
    }
    Scan s;
    if (!scan(abuf, alen, rr_type(type), s)) {
        p.answer = failed(Status::temperror);  // a reply we cannot read: ask again later
        return p;
    }
    const std::optional<std::string> canonical = chase(s, name);
    if (!canonical) {
        p.answer = failed(Status::temperror);  // a CNAME loop
        return p;
    }
    if (s.bad_cname) {
        p.answer = failed(Status::permerror);  // an alias for no host name
        return p;
    }
    Answer& a = p.answer;
    if (!iequals_ascii(*canonical, name)) a.canonical_name = *canonical;
    const std::uint32_t negative = std::min(s.soa_ttl.value_or(negative_ttl), s.answer_ttl);

    if (status == ARES_ENOTFOUND || status == ARES_ENODATA) {
        a.status = status == ARES_ENOTFOUND ? Status::nxdomain : Status::nodata;
        a.ttl = negative;
        return p;
    }
    if (type == Type::CNAME) {
        const auto link = std::find_if(s.cnames.begin(), s.cnames.end(),
                                       [&](const auto& l) { return iequals_ascii(l.first, name); });
        a.canonical_name.clear();
        if (link == s.cnames.end()) {
            a.status = Status::nodata;
            a.ttl = negative;
        } else {
            a.status = Status::ok;
            a.ttl = s.answer_ttl;
            a.names.push_back(link->second);
        }
        return p;
    }
    if (s.matching == 0) {
        a.ttl = negative;
        if (!a.canonical_name.empty()) {
            p.follow = a.canonical_name;  // a CNAME the server did not follow
            a.ttl = s.answer_ttl;
        } else {
            a.status = Status::nodata;
        }
        return p;
    }
    int dropped = 0;
    const int st = records(type, abuf, alen, a, dropped);
    if (st == ARES_SUCCESS && a.empty() && dropped > 0) {
        a = failed(Status::permerror);  // records there, none of them usable
    } else if (st == ARES_ENODATA || (st == ARES_SUCCESS && a.empty())) {
        a.status = Status::nodata;  // records of the type, but for another owner
        a.ttl = negative;
    } else if (st != ARES_SUCCESS) {
        a = failed(Status::permerror);  // the records are malformed
    } else {
        a.status = Status::ok;
        a.ttl = s.answer_ttl;
    }
    return p;
}

}  // namespace postern::dns::reply
