#include "smtpd/proto/received.hpp"

#include <catch2/catch.hpp>

using namespace postern::smtp;

TEST_CASE("received: one recipient over IPv4") {
    ReceivedInfo info{"client.test", "192.0.2.7", "mx.test", "ESMTP", "alice@example.com"};
    CHECK(format_received(info, "smtp_01", "Sun, 22 Nov 2026 08:03:46 +0000") ==
          "Received: from client.test ([192.0.2.7])\r\n"
          "\tby mx.test (Postern) with ESMTP id smtp_01\r\n"
          "\tfor <alice@example.com>;\r\n"
          "\tSun, 22 Nov 2026 08:03:46 +0000\r\n");
}

TEST_CASE("received: several recipients over IPv6") {
    ReceivedInfo info{"[IPv6:2001:db8::1]", "2001:db8::1", "mx.test", "UTF8SMTP", ""};
    CHECK(format_received(info, "smtp_02", "Mon, 23 Nov 2026 00:00:00 +0000") ==
          "Received: from [IPv6:2001:db8::1] ([IPv6:2001:db8::1])\r\n"
          "\tby mx.test (Postern) with UTF8SMTP id smtp_02;\r\n"
          "\tMon, 23 Nov 2026 00:00:00 +0000\r\n");
}

TEST_CASE("received: a UTF-8 HELO name in ASCII for 7-bit mail") {
    CHECK(ascii_helo("bücher.test", "192.0.2.7") == "xn--bcher-kva.test");
    CHECK(ascii_helo("Client.Test", "192.0.2.7") == "Client.Test");   // ASCII: as written
    CHECK(ascii_helo("bü_cher.test", "192.0.2.7") == "[192.0.2.7]");  // no A-label
    CHECK(ascii_helo("bü_cher.test", "2001:db8::1") == "[IPv6:2001:db8::1]");
}
