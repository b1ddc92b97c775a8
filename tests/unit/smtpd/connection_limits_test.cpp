#include "smtpd/connection_limits.hpp"

#include <catch2/catch.hpp>
#include <vector>

using postern::smtp::ConnectionLimits;

TEST_CASE("connection limits: per address and in all") {
    ConnectionLimits limits(3, 2);
    std::vector<ConnectionLimits::Ticket> held;
    auto a1 = limits.try_acquire("192.0.2.1");
    auto a2 = limits.try_acquire("192.0.2.1");
    REQUIRE(a1);
    REQUIRE(a2);
    CHECK_FALSE(limits.try_acquire("192.0.2.1"));  // per-address limit
    auto b1 = limits.try_acquire("192.0.2.2");
    REQUIRE(b1);
    CHECK_FALSE(limits.try_acquire("192.0.2.3"));  // global limit
    CHECK(limits.total() == 3);
    a1.reset();
    CHECK(limits.total() == 2);
    CHECK(limits.count("192.0.2.1") == 1);
    auto c1 = limits.try_acquire("192.0.2.3");
    CHECK(c1);
    held.push_back(std::move(*c1));
    c1.reset();  // moved-from: gives nothing back
    CHECK(limits.total() == 3);
    held.clear();
    a2.reset();
    b1.reset();
    CHECK(limits.total() == 0);
    CHECK(limits.count("192.0.2.1") == 0);
}

TEST_CASE("connection limits: zero means unlimited") {
    ConnectionLimits limits(0, 0);
    std::vector<ConnectionLimits::Ticket> held;
    for (int i = 0; i < 1000; ++i) {
        auto t = limits.try_acquire("192.0.2.1");
        REQUIRE(t);
        held.push_back(std::move(*t));
    }
    CHECK(limits.total() == 1000);
}
