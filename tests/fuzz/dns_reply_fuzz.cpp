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
// - names in record data (MX and PTR targets, CNAMEs) are host names: no trailing dot, no empty
//   label, nothing c-ares had to escape (an MX target may be empty: a null MX);
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

// What the resolver may hand on as a name to look up: c-ares escapes every byte a host name
// cannot have with a backslash.
bool host_name(std::string_view name) {
    return !name.empty() && no_trailing_dot(name) && name.front() != '.' &&
           name.find("..") == std::string_view::npos && name.find('\\') == std::string_view::npos;
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
    check(a.ttl <= 0x7fffffffu);
    check(a.canonical_name.empty() || host_name(a.canonical_name));
    check(p.follow.empty() || host_name(p.follow));
    if (!p.follow.empty()) {
        check(a.empty());
        check(!iequals_ascii(p.follow, name));
    }
    if (a.status != Status::ok) {
        check(a.empty());
        return 0;
    }
    check(status == ARES_SUCCESS);
    switch (type) {
        case Type::A:
        case Type::AAAA:
            check(!a.addresses.empty() && a.mx.empty() && a.txt.empty() && a.names.empty());
            for (const auto& addr : a.addresses)
                check(is_address(addr, type == Type::A ? AF_INET : AF_INET6));
            break;
        case Type::MX:
            check(!a.mx.empty() && a.addresses.empty() && a.txt.empty() && a.names.empty());
            check(std::is_sorted(a.mx.begin(), a.mx.end(), [](const Mx& x, const Mx& y) {
                return x.preference < y.preference;
            }));
            for (const auto& mx : a.mx) check(mx.host.empty() || host_name(mx.host));
            break;
        case Type::TXT:
            check(!a.txt.empty() && a.addresses.empty() && a.mx.empty() && a.names.empty());
            break;
        case Type::PTR:
            check(!a.names.empty() && a.addresses.empty() && a.mx.empty() && a.txt.empty());
            for (const auto& n : a.names) check(host_name(n));
            break;
        case Type::CNAME:
            check(a.names.size() == 1 && a.addresses.empty() && a.mx.empty() && a.txt.empty());
            check(host_name(a.names[0]));
            break;
    }
    return 0;
}
