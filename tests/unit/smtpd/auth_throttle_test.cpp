#include "smtpd/auth_throttle.hpp"

#include <catch2/catch.hpp>

using postern::smtp::AuthThrottle;

TEST_CASE("auth throttle: failures per address within a window") {
    AuthThrottle t(3, 1000);
    CHECK(t.allowed("192.0.2.1", 0));
    t.failed("192.0.2.1", 0);
    t.failed("192.0.2.1", 10);
    CHECK(t.allowed("192.0.2.1", 20));
    t.failed("192.0.2.1", 20);
    CHECK_FALSE(t.allowed("192.0.2.1", 30));
    CHECK(t.allowed("192.0.2.2", 30));  // others are not affected
    CHECK_FALSE(t.allowed("192.0.2.1", 999));
    CHECK(t.allowed("192.0.2.1", 1000));  // the window has passed
    t.failed("192.0.2.1", 1000);          // a new window
    CHECK(t.allowed("192.0.2.1", 1001));
}

TEST_CASE("auth throttle: 0 disables it, and the table stays bounded") {
    AuthThrottle off(0, 1000);
    for (int i = 0; i < 10; ++i) off.failed("192.0.2.1", i);
    CHECK(off.allowed("192.0.2.1", 10));

    AuthThrottle small(1, 1000, 2);
    small.failed("a", 0);
    small.failed("b", 0);
    CHECK_FALSE(small.allowed("a", 1));
    small.failed("c", 1);  // full of live entries: starts over
    CHECK(small.allowed("a", 2));
    CHECK_FALSE(small.allowed("c", 2));
}
