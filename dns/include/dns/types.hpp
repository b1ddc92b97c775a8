#pragma once
// DNS questions and answers as plain values, shared by the resolver (c-ares on Asio), the
// in-memory resolvers tests use, and the sans-I/O evaluators (SPF, DMARC, DKIM key fetch) that
// ask questions and are fed answers. No I/O here.
#include <cstdint>
#include <string>
#include <vector>

namespace postern::dns {

enum class Type : std::uint8_t { A, AAAA, MX, TXT, PTR, CNAME };
const char* type_name(Type t);

struct Question {
    std::string name;  // absolute, no trailing dot, A-labels
    Type type = Type::A;
    bool operator==(const Question&) const = default;
};

enum class Status : std::uint8_t {
    ok,         // the name has records of this type (records below)
    nodata,     // the name exists, no records of this type (RFC 2308 NODATA)
    nxdomain,   // the name does not exist
    temperror,  // timeout, SERVFAIL, network error: try again later
    permerror,  // malformed name or answer (e.g. a label over 63 octets)
};

struct Mx {
    std::uint16_t preference = 0;
    std::string host;  // "" for a null MX (RFC 7505: preference 0, host ".")
};

struct Answer {
    Status status = Status::temperror;
    std::uint32_t ttl = 0;                 // seconds; for negative answers the SOA minimum
    std::vector<std::string> addresses;    // A / AAAA, textual
    std::vector<Mx> mx;                    // MX
    std::vector<std::string> txt;          // TXT: one entry per record, its strings joined
    std::vector<std::string> names;        // PTR targets, or the CNAME target
    std::string canonical_name;            // the name after CNAME chasing ("" when none)

    bool empty() const {
        return addresses.empty() && mx.empty() && txt.empty() && names.empty();
    }
};

}  // namespace postern::dns
