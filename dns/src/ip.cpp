#include "dns/ip.hpp"

#include <arpa/inet.h>

#include <cstring>

namespace postern::dns {

namespace {

// ip4-network of RFC 7208 (and what inet_pton(AF_INET) accepts): four decimal parts of 0-255,
// no leading zeros. Hand-written because SPF parses one per ip4: term and A record, often.
bool parse_v4(std::string_view text, std::uint8_t* out) {
    int part = 0;
    std::size_t i = 0;
    while (true) {
        const std::size_t start = i;
        unsigned v = 0;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9' && i - start < 3)
            v = v * 10 + static_cast<unsigned>(text[i++] - '0');
        const std::size_t len = i - start;
        if (len == 0 || v > 255 || (len > 1 && text[start] == '0')) return false;
        out[part++] = static_cast<std::uint8_t>(v);
        if (part == 4) return i == text.size();
        if (i >= text.size() || text[i] != '.') return false;
        ++i;
    }
}

}  // namespace

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
    IpAddress ip;
    if (text.find(':') == std::string_view::npos) {
        if (!parse_v4(text, ip.bytes.data())) return std::nullopt;
        ip.family = Family::v4;
        return ip;
    }
    // inet_pton wants a C string; 45 characters is the longest IPv6 text form.
    char buf[64];
    if (text.size() >= sizeof buf) return std::nullopt;
    std::memcpy(buf, text.data(), text.size());
    buf[text.size()] = '\0';
    if (inet_pton(AF_INET6, buf, ip.bytes.data()) != 1) return std::nullopt;
    ip.family = Family::v6;
    return ip;
}

IpAddress IpAddress::v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
    IpAddress ip;
    ip.bytes[0] = a;
    ip.bytes[1] = b;
    ip.bytes[2] = c;
    ip.bytes[3] = d;
    return ip;
}

bool IpAddress::is_v4_mapped() const {
    if (family != Family::v6) return false;
    for (int i = 0; i < 10; ++i)
        if (bytes[i] != 0) return false;
    return bytes[10] == 0xff && bytes[11] == 0xff;
}

IpAddress IpAddress::unmapped() const {
    if (!is_v4_mapped()) return *this;
    return v4(bytes[12], bytes[13], bytes[14], bytes[15]);
}

bool IpAddress::in_network(const IpAddress& network, unsigned prefix) const {
    if (family != network.family) return false;
    const unsigned max = is_v4() ? 32 : 128;
    if (prefix > max) prefix = max;
    const unsigned whole = prefix / 8;
    if (std::memcmp(bytes.data(), network.bytes.data(), whole) != 0) return false;
    const unsigned rest = prefix % 8;
    if (rest == 0) return true;
    const auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
    return (bytes[whole] & mask) == (network.bytes[whole] & mask);
}

std::string IpAddress::to_string() const {
    char buf[INET6_ADDRSTRLEN];
    const int af = is_v4() ? AF_INET : AF_INET6;
    if (inet_ntop(af, bytes.data(), buf, sizeof buf) == nullptr) return {};
    return buf;
}

void IpAddress::append_reverse_name(std::string& out) const {
    static constexpr char kHex[] = "0123456789abcdef";
    if (is_v4()) {
        for (int i = 3; i >= 0; --i) {
            char buf[4];
            int n = 0;
            unsigned v = bytes[i];
            if (v >= 100) buf[n++] = static_cast<char>('0' + v / 100);
            if (v >= 10) buf[n++] = static_cast<char>('0' + v / 10 % 10);
            buf[n++] = static_cast<char>('0' + v % 10);
            out.append(buf, n);
            out.push_back('.');
        }
        out.append("in-addr.arpa");
        return;
    }
    for (int i = 15; i >= 0; --i) {
        out.push_back(kHex[bytes[i] & 0xf]);
        out.push_back('.');
        out.push_back(kHex[bytes[i] >> 4]);
        out.push_back('.');
    }
    out.append("ip6.arpa");
}

}  // namespace postern::dns
