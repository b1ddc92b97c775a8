#pragma once
// IP addresses as 16 bytes plus a family: parsing, text, CIDR matching and reverse (PTR) names.
// Used by SPF (client IP, ip4:/ip6: networks, A/AAAA answers). Plain value; no I/O.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace postern::dns {

struct IpAddress {
    enum class Family : std::uint8_t { v4, v6 };

    Family family = Family::v4;
    std::array<std::uint8_t, 16> bytes{};  // IPv4 in bytes[0..3], the rest zero

    // "192.0.2.1" (dotted quad, no leading zeros) or RFC 4291 IPv6 text ("2001:db8::1",
    // "::ffff:192.0.2.1"). No brackets, no zone ids, no surrounding blanks.
    static std::optional<IpAddress> parse(std::string_view text);
    static IpAddress v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d);

    bool is_v4() const { return family == Family::v4; }
    bool is_v4_mapped() const;   // ::ffff:a.b.c.d
    IpAddress unmapped() const;  // the IPv4 address of a v4-mapped IPv6 address, else *this

    // True when both are of the same family and the first `prefix` bits are equal
    // (prefix is clamped to 32 or 128).
    bool in_network(const IpAddress& network, unsigned prefix) const;

    // RFC 5952 text for IPv6 ("2001:db8::1"), dotted quad for IPv4.
    std::string to_string() const;
    // Appends "4.3.2.1.in-addr.arpa" or the 32 nibbles of "...ip6.arpa" (lowercase).
    void append_reverse_name(std::string& out) const;

    bool operator==(const IpAddress&) const = default;
};

}  // namespace postern::dns
