// The pure parts of the queue runner: the destination an MX answer gives, what the
// per-destination limit counts, and dot-stuffing.
#include <catch2/catch.hpp>

#include "outbound/destinations.hpp"
#include "outbound/smtp_client.hpp"

using namespace postern;
using namespace postern::smtp::outbound;

namespace {
dns::Answer mx(dns::Status status, std::vector<dns::Mx> records = {}) {
    dns::Answer a;
    a.status = status;
    a.mx = std::move(records);
    return a;
}
}  // namespace

TEST_CASE("an MX answer decides the hops, the implicit MX, a null MX and failures", "[outbound]") {
    auto ok =
        from_mx_answer("d.test", mx(dns::Status::ok, {{5, "a.d.test"}, {10, "b.d.test"}}), 2525);
    REQUIRE(ok.status == Destination::Status::ok);
    REQUIRE(ok.hops.size() == 2);
    CHECK(ok.hops[0].host == "a.d.test");
    CHECK(ok.hops[0].port == 2525);
    CHECK(ok.hops[1].host == "b.d.test");

    auto implicit = from_mx_answer("d.test", mx(dns::Status::nodata), 25);
    REQUIRE(implicit.status == Destination::Status::ok);
    REQUIRE(implicit.hops.size() == 1);
    CHECK(implicit.hops[0].host == "d.test");

    auto null_mx = from_mx_answer("d.test", mx(dns::Status::ok, {{0, ""}}), 25);
    CHECK(null_mx.status == Destination::Status::permanent);
    CHECK(null_mx.reply.starts_with("556 5.1.10"));

    CHECK(from_mx_answer("d.test", mx(dns::Status::nxdomain), 25).status ==
          Destination::Status::permanent);
    auto temp = from_mx_answer("d.test", mx(dns::Status::temperror), 25);
    CHECK(temp.status == Destination::Status::temporary);
    CHECK(temp.reply.starts_with("451 4.4.3"));
}

TEST_CASE("dot_stuff doubles leading dots and ends with CRLF", "[outbound]") {
    CHECK(dot_stuff("a\r\n.b\r\n..c\r\n") == "a\r\n..b\r\n...c\r\n");
    CHECK(dot_stuff(".\r\n") == "..\r\n");
    CHECK(dot_stuff("no end") == "no end\r\n");
    CHECK(dot_stuff("mid.dot\r\n") == "mid.dot\r\n");
}

TEST_CASE("the per-destination limit counts a route's target, else the recipient domain",
          "[outbound]") {
    OutboundConfig config;
    CHECK(destination_key(config, "a.example") == "a.example");
    CHECK(destination_key(config, "b.example") == "b.example");
    config.routes["a.example"] = parse_endpoint("127.0.0.1:2525");
    CHECK(destination_key(config, "a.example") == "route 127.0.0.1:2525");
    CHECK(destination_key(config, "b.example") == "b.example");
    // A smarthost: every domain without its own route shares one destination.
    config.routes["*"] = parse_endpoint("relay.example:587");
    CHECK(destination_key(config, "b.example") == "route relay.example:587");
    CHECK(destination_key(config, "c.example") == "route relay.example:587");
    CHECK(destination_key(config, "a.example") == "route 127.0.0.1:2525");
}
