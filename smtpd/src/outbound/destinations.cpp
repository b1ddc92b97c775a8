#include "destinations.hpp"

#include <boost/asio/ip/address.hpp>

#include "dns/asio_resolver.hpp"

namespace postern::smtp::outbound {
namespace asio = boost::asio;

Destination from_mx_answer(const std::string& domain, const dns::Answer& mx, std::uint16_t port) {
    Destination d;
    switch (mx.status) {
        case dns::Status::ok: {
            for (const auto& m : mx.mx) {
                if (m.host.empty()) continue;  // a null MX beside real ones is ignored
                d.hops.push_back({m.host, port});
            }
            if (d.hops.empty()) {
                d.status = Destination::Status::permanent;
                d.reply = "556 5.1.10 " + domain + " accepts no mail (null MX, RFC 7505)";
            } else {
                d.status = Destination::Status::ok;
            }
            return d;
        }
        case dns::Status::nodata:
            d.status = Destination::Status::ok;
            d.hops.push_back({domain, port});  // the implicit MX
            return d;
        case dns::Status::nxdomain:
            d.status = Destination::Status::permanent;
            d.reply = "550 5.1.2 domain " + domain + " does not exist";
            return d;
        case dns::Status::permerror:
            d.status = Destination::Status::permanent;
            d.reply = "550 5.1.2 domain " + domain + " cannot be looked up (bad name or reply)";
            return d;
        case dns::Status::temperror:
            break;
    }
    d.status = Destination::Status::temporary;
    d.reply = "451 4.4.3 MX lookup for " + domain + " failed temporarily";
    return d;
}

namespace {
std::map<std::string, Endpoint>::const_iterator find_route(const OutboundConfig& config,
                                                           const std::string& domain) {
    auto route = config.routes.find(domain);
    return route != config.routes.end() ? route : config.routes.find("*");
}
}  // namespace

std::string destination_key(const OutboundConfig& config, const std::string& domain) {
    auto route = find_route(config, domain);
    return route != config.routes.end() ? "route " + route->second.str() : domain;
}

asio::awaitable<Destination> find_destination(dns::Resolver& resolver, const OutboundConfig& config,
                                              std::string domain) {
    auto route = find_route(config, domain);
    if (route != config.routes.end()) {
        Destination d;
        d.status = Destination::Status::ok;
        d.hops.push_back({route->second.host, route->second.port});
        co_return d;
    }
    dns::Question q{domain, dns::Type::MX};
    auto lookup = dns::lookup(resolver, q);
    dns::Answer a = co_await std::move(lookup);
    co_return from_mx_answer(domain, a, config.mx_port);
}

asio::awaitable<std::vector<asio::ip::tcp::endpoint>> hop_endpoints(dns::Resolver& resolver,
                                                                    Hop hop, std::string* why) {
    std::vector<asio::ip::tcp::endpoint> out;
    boost::system::error_code ec;
    auto literal = asio::ip::make_address(hop.host, ec);
    if (!ec) {
        out.emplace_back(literal, hop.port);
        co_return out;
    }
    bool temp = false;
    for (auto type : {dns::Type::A, dns::Type::AAAA}) {
        dns::Question q{hop.host, type};
        auto lookup = dns::lookup(resolver, q);
        dns::Answer a = co_await std::move(lookup);
        if (a.status == dns::Status::temperror) temp = true;
        for (const auto& text : a.addresses) {
            auto addr = asio::ip::make_address(text, ec);
            if (!ec) out.emplace_back(addr, hop.port);
        }
    }
    if (out.empty() && why != nullptr)
        *why = temp ? "address lookup for " + hop.host + " failed temporarily"
                    : hop.host + " has no address";
    co_return out;
}

}  // namespace postern::smtp::outbound
