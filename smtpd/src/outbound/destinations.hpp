#pragma once
// Where mail for a recipient domain goes: a configured route ([outbound] routes: the domain, or
// "*" for a smarthost) beats DNS; otherwise the MX hosts in preference order on
// [outbound] mx_port, the domain itself when it has no MX (the implicit MX, RFC 5321 §5.1), and
// nowhere for a null MX (RFC 7505) or a domain that does not exist.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "common/config.hpp"
#include "dns/resolver.hpp"

namespace postern::smtp::outbound {

struct Hop {
    std::string host;  // a name or an IP literal
    std::uint16_t port = 25;
};

struct Destination {
    enum class Status { ok, temporary, permanent };
    Status status = Status::temporary;
    std::vector<Hop> hops;  // ok: in the order to try
    std::string reply;      // temporary / permanent: an SMTP-style reason ("556 5.1.10 …")
};

// Decides from the MX answer alone (pure: unit-testable).
Destination from_mx_answer(const std::string& domain, const dns::Answer& mx, std::uint16_t port);

// What the per-destination concurrency limit counts, as Postfix's destination: the route's
// host:port when a route applies (every domain sent to one smarthost shares it), else the domain.
std::string destination_key(const OutboundConfig& config, const std::string& domain);

// The route for `domain` (lowercase A-label). `resolver` outlives the call.
boost::asio::awaitable<Destination> find_destination(dns::Resolver& resolver,
                                                     const OutboundConfig& config,
                                                     std::string domain);

// The addresses of one hop (an IP literal as is; a name through A then AAAA). Empty when the
// name has none or DNS failed (`why` says which).
boost::asio::awaitable<std::vector<boost::asio::ip::tcp::endpoint>> hop_endpoints(
    dns::Resolver& resolver, Hop hop, std::string* why);

}  // namespace postern::smtp::outbound
