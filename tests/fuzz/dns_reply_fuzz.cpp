// Fuzz target: turning a DNS reply from the network into an Answer (dns/src/resolver_reply.cpp:
// c-ares' record parsers, and our own reader of the answer and authority sections for TTLs,
// CNAME chains and the SOA of a negative answer), as the resolver does for every reply to SPF,
// DMARC, DKIM and MX lookups. The first byte picks the type asked for (A, AAAA, MX, TXT, PTR,
// CNAME) and what c-ares reported (success, no data, no such name); the rest is the reply, for a
// question about "example.com". Invariants checked:
// - an ok answer holds records of the type asked for and no other (A and AAAA as addresses of
//   their family, MX sorted by preference, a CNAME answer exactly one name), a negative or failed
//   one holds none;
// - TTLs never have the top bit set (RFC 2181 §8);
// - names in record data are host names: labels of letters, digits, '-' and '_', no trailing
//   dot, no empty label (an MX target may be empty: a null MX; CNAME targets, and so the
//   canonical name and the name to follow, may also hold '/' and '*', as RFC 2317 names do);
// - a CNAME to follow comes with no records and never points back at the name asked, which would
//   make the resolver ask the same question forever.
#include <ares.h>
#include <arpa/inet.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/ascii.hpp"
#include "invariant.hpp"
#include "resolver_reply.hpp"

using namespace postern;
using namespace postern::dns;

namespace {

bool is_address(const std::string& text, int family) {
    unsigned char buf[16];
    return inet_pton(family, text.c_str(), buf) == 1;
}

bool no_trailing_dot(std::string_view name) { return name.empty() || name.back() != '.'; }

// What the resolver may hand on as a name to look up (`alias`: a CNAME target).
bool host_name(std::string_view name, bool alias = false) {
    if (name.empty() || name.front() == '.' || !no_trailing_dot(name) ||
        name.find("..") != std::string_view::npos)
        return false;
    for (const char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
                        (alias && (c == '/' || c == '*'));
        if (!ok) return false;
    }
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    constexpr Type kTypes[] = {Type::A, Type::AAAA, Type::MX, Type::TXT, Type::PTR, Type::CNAME};
    constexpr int kStatuses[] = {ARES_SUCCESS, ARES_ENODATA, ARES_ENOTFOUND};
    const Type type = kTypes[data[0] % 6];
    const int status = kStatuses[data[0] / 6 % 3];
    const std::string_view name = "example.com";

    const reply::Parsed p =
        reply::read(type, name, status, data + 1, static_cast<int>(size - 1), 3600);
    const Answer& a = p.answer;
    FUZZ_CHECK(a.ttl <= 0x7fffffffu);
    FUZZ_CHECK(a.canonical_name.empty() || host_name(a.canonical_name, true));
    FUZZ_CHECK(p.follow.empty() || host_name(p.follow, true));
    if (!p.follow.empty()) {
        FUZZ_CHECK(a.empty());
        FUZZ_CHECK(!iequals_ascii(p.follow, name));
    }
    if (a.status != Status::ok) {
        FUZZ_CHECK(a.empty());
        return 0;
    }
    FUZZ_CHECK(status == ARES_SUCCESS);
    switch (type) {
        case Type::A:
        case Type::AAAA:
            FUZZ_CHECK(!a.addresses.empty() && a.mx.empty() && a.txt.empty() && a.names.empty());
            for (const auto& addr : a.addresses)
                FUZZ_CHECK(is_address(addr, type == Type::A ? AF_INET : AF_INET6));
            break;
        case Type::MX:
            FUZZ_CHECK(!a.mx.empty() && a.addresses.empty() && a.txt.empty() && a.names.empty());
            FUZZ_CHECK(std::is_sorted(a.mx.begin(), a.mx.end(), [](const Mx& x, const Mx& y) {
                return x.preference < y.preference;
            }));
            for (const auto& mx : a.mx) FUZZ_CHECK(mx.host.empty() || host_name(mx.host));
            break;
        case Type::TXT:
            FUZZ_CHECK(!a.txt.empty() && a.addresses.empty() && a.mx.empty() && a.names.empty());
            break;
        case Type::PTR:
            FUZZ_CHECK(!a.names.empty() && a.addresses.empty() && a.mx.empty() && a.txt.empty());
            for (const auto& n : a.names) FUZZ_CHECK(host_name(n));
            break;
        case Type::CNAME:
            FUZZ_CHECK(a.names.size() == 1 && a.addresses.empty() && a.mx.empty() && a.txt.empty());
            FUZZ_CHECK(host_name(a.names[0], true));
            break;
    }
    return 0;
}
