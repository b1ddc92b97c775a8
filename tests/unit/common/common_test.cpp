#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <set>

#include "common/address.hpp"
#include "common/config.hpp"
#include "common/crypto.hpp"
#include "common/ids.hpp"
#include "common/scopes.hpp"
#include "common/time.hpp"

using namespace postern;

TEST_CASE("ids are prefixed, valid and strictly increasing", "[ids]") {
    std::string prev;
    std::set<std::string> seen;
    for (int i = 0; i < 5000; ++i) {
        auto id = new_id("msg");
        REQUIRE(is_id(id, "msg"));
        REQUIRE(id > prev);
        REQUIRE(seen.insert(id).second);
        prev = id;
    }
    CHECK_FALSE(is_id(prev, "thr"));
    CHECK_FALSE(is_id("msg_short", "msg"));
    CHECK_FALSE(is_id("msg_0000000000000000000000000!", "msg"));
}

TEST_CASE("base64 (RFC 4648 section 4) decodes strictly", "[crypto]") {
    for (const std::string& s : std::vector<std::string>{"", "a", "ab", "abc", "abcd",
                                                         std::string("\x00\xff\xfe\xfb", 4)}) {
        std::string out;
        REQUIRE(base64_decode(base64_encode(s), out));
        CHECK(out == s);
    }
    std::string out;
    CHECK(base64_decode("AGFsaWNlAHB3", out));
    CHECK(out == std::string("\0alice\0pw", 9));
    for (const char* bad :
         {"a", "abc", "ab=c", "a===", "====", "-_8=", "YWJj\r\n", "YW Jj", "YWJ=YWJj"})
        CHECK_FALSE(base64_decode(bad, out));
}

TEST_CASE("base64url round-trips and rejects garbage", "[crypto]") {
    for (const std::string& s :
         std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\x00\xff\xfe", 3)}) {
        std::string out;
        REQUIRE(base64url_decode(base64url_encode(s), out));
        CHECK(out == s);
    }
    std::string out;
    CHECK_FALSE(base64url_decode("a", out));
    CHECK_FALSE(base64url_decode("ab!d", out));
    CHECK(base64url_encode("\xfb\xff") == "-_8");
    CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(constant_time_equal("abc", "abc"));
    CHECK_FALSE(constant_time_equal("abc", "abd"));
    CHECK_FALSE(constant_time_equal("abc", "ab"));
}

TEST_CASE("addresses parse and normalise", "[address]") {
    using Row = std::tuple<std::string, bool, std::string>;
    auto [text, ok, key] = GENERATE(table<std::string, bool, std::string>({
        Row{"Alice@Example.COM", true, "alice@example.com"},
        Row{"first.last+tag@sub.example.org", true, "first.last+tag@sub.example.org"},
        Row{"\"quoted local\"@example.com", true, "\"quoted local\"@example.com"},
        // A quoted local part that needs no quotes is the plain one; escapes are canonical.
        Row{"\"Alice\"@example.com", true, "alice@example.com"},
        Row{"\"a\\lice\"@example.com", true, "alice@example.com"},
        Row{"\"first.last\"@example.com", true, "first.last@example.com"},
        Row{"\"a..b\"@example.com", true, "\"a..b\"@example.com"},
        Row{"\"\\q\\ x\\\"y\\\\\"@example.com", true, "\"q x\\\"y\\\\\"@example.com"},
        Row{"\"\"@example.com", true, "\"\"@example.com"},
        Row{"用户@例え.jp", true, "用户@xn--r8jz45g.jp"},
        Row{"no-at-sign", false, ""},
        Row{"@example.com", false, ""},
        Row{"a@", false, ""},
        Row{"a..b@example.com", false, ""},
        Row{".a@example.com", false, ""},
        Row{"a@-bad-.com", false, ""},
        Row{"a@exa mple.com", false, ""},
        Row{"a b@example.com", false, ""},
        Row{std::string(65, 'x') + "@example.com", false, ""},
        Row{"s\xff\xfe@example.com", false, ""},      // not UTF-8 (RFC 6531)
        Row{"\"s\xc0\xaf\"@example.com", false, ""},  // an overlong form, quoted
        Row{"a@b\xff.example", false, ""},
    }));
    auto r = parse_address(text);
    REQUIRE(r.has_value() == ok);
    if (ok) CHECK(r->key() == key);
}

TEST_CASE("is_hostable_domain: names we can take mail for", "[address]") {
    CHECK(is_hostable_domain("example.com"));
    CHECK(is_hostable_domain("a.b.example"));
    CHECK(is_hostable_domain("123.example"));
    CHECK(is_hostable_domain("xn--bcher-kva.test"));  // bücher.test
    CHECK_FALSE(is_hostable_domain("localhost"));
    CHECK_FALSE(is_hostable_domain("1.2.3.4"));      // an address, not a name
    CHECK_FALSE(is_hostable_domain("example.123"));  // an all-digit top-level label
    CHECK_FALSE(is_hostable_domain("xn--zz.test"));  // not punycode that decodes
    CHECK_FALSE(is_hostable_domain(".example"));
}

TEST_CASE("scope bundles imply their members", "[scopes]") {
    using V = std::vector<std::string>;
    CHECK(scope_allows(V{"read"}, "email:read"));
    CHECK(scope_allows(V{"read"}, "contacts:read"));
    CHECK_FALSE(scope_allows(V{"read"}, "email:send"));
    CHECK_FALSE(scope_allows(V{"email:send"}, "email:read"));
    CHECK(scope_allows(V{"email:send"}, "email:send"));
    CHECK(scope_allows(V{"write"}, "email:write"));
    CHECK(scope_allows(V{"full"}, "email:read"));
    CHECK_FALSE(scope_allows(V{"full"}, "admin"));
    CHECK(scope_allows(V{"admin"}, "admin"));
    CHECK_FALSE(scope_allows(V{}, "email:read"));
    CHECK(split_scopes("read, email:send  write") == V{"read", "email:send", "write"});
    CHECK(join_scopes(V{"a", "b"}) == "a b");
    CHECK(is_known_scope("email:read"));
    CHECK_FALSE(is_known_scope("email:everything"));
}

TEST_CASE("time formats", "[time]") {
    CHECK(rfc3339(0) == "1970-01-01T00:00:00Z");
    CHECK(rfc3339(1795334626000) == "2026-11-22T08:03:46Z");
    CHECK(rfc5322_date(1795334626000) == "Sun, 22 Nov 2026 08:03:46 +0000");
}

TEST_CASE("config: the [auth] section", "[config]") {
    auto dir = std::filesystem::temp_directory_path() / ("postern-cfg-" + new_id("t"));
    std::filesystem::create_directories(dir);
    Config c;
    c.data_dir = dir;
    c.hostname = "mx.example.test";
    CHECK(c.auth.enabled);
    CHECK(c.auth.dmarc_reject_action == "reject");
    CHECK(c.auth.spf_timeout_ms == 20000);
    CHECK(c.auth.authserv(c.hostname) == "mx.example.test");  // default: the hostname
    c.auth.enabled = false;
    c.auth.dmarc_reject_action = "quarantine";
    c.auth.spf_timeout_ms = 500;
    c.auth.add_authentication_results = false;
    c.auth.authserv_id = "auth.example.test";
    save_config(c);
    Config back = load_config(dir);
    CHECK_FALSE(back.auth.enabled);
    CHECK(back.auth.dmarc_reject_action == "quarantine");
    CHECK(back.auth.spf_timeout_ms == 500);
    CHECK_FALSE(back.auth.add_authentication_results);
    CHECK(back.auth.authserv(back.hostname) == "auth.example.test");
    auto write = [&](const std::string& text) {
        std::ofstream(dir / kConfigFileName, std::ios::trunc) << text;
    };
    write("[auth]\ndmarc_reject_action = \"drop\"\n");
    CHECK_THROWS(load_config(dir));
    write("[auth]\nspf_timeout_ms = 0\n");
    CHECK_THROWS(load_config(dir));
    std::filesystem::remove_all(dir);
}

TEST_CASE("config round-trips through postern.toml", "[config]") {
    auto dir = std::filesystem::temp_directory_path() / ("postern-cfg-" + new_id("t"));
    std::filesystem::create_directories(dir);
    Config c;
    c.data_dir = dir;
    c.hostname = "mx.example.test";
    c.smtp.mx_listen = parse_endpoint("127.0.0.1:0");
    c.smtp.max_recipients = 7;
    CHECK(c.smtp.recipient_delimiter == "+");
    c.smtp.recipient_delimiter = "+-";
    CHECK(c.smtp.recipient_cache_ms == 1000);
    c.smtp.recipient_cache_ms = 250;
    c.api.listen = parse_endpoint("[::1]:8080");
    save_config(c);
    Config back = load_config(dir);
    CHECK(back.hostname == "mx.example.test");
    CHECK(back.smtp.max_recipients == 7);
    CHECK(back.smtp.recipient_delimiter == "+-");
    std::ofstream(dir / kConfigFileName, std::ios::trunc)
        << "[smtp]\nrecipient_delimiter = \"@\"\n";
    CHECK_THROWS(load_config(dir));
    std::ofstream(dir / kConfigFileName, std::ios::trunc)
        << "[smtp]\nrecipient_delimiter = \".\"\n";
    CHECK_THROWS(load_config(dir));
    std::ofstream(dir / kConfigFileName, std::ios::trunc) << "[smtp]\nrecipient_delimiter = \"\"\n";
    CHECK(load_config(dir).smtp.recipient_delimiter.empty());
    CHECK(back.smtp.recipient_cache_ms == 250);
    std::ofstream(dir / kConfigFileName, std::ios::trunc) << "[smtp]\nrecipient_cache_ms = 0\n";
    CHECK(load_config(dir).smtp.recipient_cache_ms == 0);
    std::ofstream(dir / kConfigFileName, std::ios::trunc) << "[smtp]\nrecipient_cache_ms = 60001\n";
    CHECK_THROWS(load_config(dir));
    // A value of the wrong type stops start-up, naming the file, the line and the key.
    auto refused = [&](const std::string& text, const std::string& words) {
        std::ofstream(dir / kConfigFileName, std::ios::trunc) << text;
        try {
            load_config(dir);
        } catch (const std::runtime_error& e) {
            INFO(e.what());
            CHECK(std::string(e.what()).find(words) != std::string::npos);
            CHECK(std::string(e.what()).find(kConfigFileName) != std::string::npos);
            return;
        }
        FAIL("accepted: " << text);
    };
    refused("hostname = 5\n", "line 1: hostname must be a string");
    refused("hostname = \"bad host!!\"\n", "hostname must be a host name");
    refused("[outbound]\nrequire_verified_domain = 0\n",
            "line 2: require_verified_domain must be true or false");
    refused("[outbound]\nrequire_verified_domain = \"no\"\n", "must be true or false");
    refused("[smtp]\nmax_recipients = 1.5\n", "max_recipients must be a whole number");
    refused("[smtp]\nmax_recipients = 99999999999\n", "from 0 to 4294967295");
    refused("[smtp]\nmx_listen = \"host name:25\"\n", "mx_listen: bad host");
    refused("[smtp]\nmax_recipient = 5\n", "line 2: unknown key smtp.max_recipient");
    refused("hostnme = \"a.example\"\n", "line 1: unknown key hostnme");
    refused("smtp = 5\n", "smtp must be a table");
    refused("[hostname]\nx = 1\n", "hostname must be a single value");
    std::ofstream(dir / kConfigFileName, std::ios::trunc)
        << "[submission]\nlisten = \"127.0.0.1:587\"\n[outbound.routes]\n\"example.org\" = "
           "\"127.0.0.1:2525\"\n";
    CHECK(load_config(dir).outbound.routes.size() == 1);
    std::ofstream(dir / kConfigFileName, std::ios::trunc) << "hostname = \"Mail.Example.COM.\"\n";
    CHECK(load_config(dir).hostname == "mail.example.com");
    CHECK(back.smtp.mx_listen.port == 0);
    CHECK(back.api.listen.host == "::1");
    CHECK(back.api.listen.port == 8080);
    CHECK(back.database_path() == dir / "postern.db");
    CHECK_THROWS(parse_endpoint("nohost"));
    CHECK_THROWS(parse_endpoint("h:99999"));
    CHECK_THROWS(load_config(dir / "missing"));
    std::filesystem::remove_all(dir);
}

TEST_CASE("config: the [submission] and [outbound] sections", "[config]") {
    auto dir = std::filesystem::temp_directory_path() / ("postern-cfg-" + new_id("t"));
    std::filesystem::create_directories(dir);
    Config c;
    c.data_dir = dir;
    CHECK_FALSE(c.submission.listen);
    CHECK(c.outbound.require_verified_domain);
    CHECK(c.outbound.retry_schedule_seconds.size() == 7);
    c.submission.listen = parse_endpoint("127.0.0.1:5587");
    c.outbound.retry_schedule_seconds = {1, 2};
    c.outbound.routes["*"] = parse_endpoint("127.0.0.1:2526");
    c.outbound.routes["example.test"] = parse_endpoint("[::1]:25");
    c.outbound.mx_port = 2525;
    save_config(c);
    Config back = load_config(dir);
    REQUIRE(back.submission.listen);
    CHECK(back.submission.listen->port == 5587);
    CHECK_FALSE(back.submission.tls_listen);
    CHECK(back.outbound.retry_schedule_seconds == std::vector<std::uint32_t>{1, 2});
    CHECK(back.outbound.routes.at("*").str() == "127.0.0.1:2526");
    CHECK(back.outbound.routes.at("example.test").str() == "[::1]:25");
    CHECK(back.outbound.mx_port == 2525);
    auto write = [&](const std::string& text) {
        std::ofstream(dir / kConfigFileName, std::ios::trunc) << text;
    };
    write("[outbound]\nretry_schedule_seconds = [0]\n");
    CHECK_THROWS(load_config(dir));
    write("[outbound]\nroutes = { \"Example.TEST\" = \"nohostport\" }\n");
    CHECK_THROWS(load_config(dir));
    write("[outbound]\nroutes = { \"Example.TEST\" = \"h:26\" }\n");
    CHECK(load_config(dir).outbound.routes.at("example.test").port == 26);
    write("[connex]\nreasoning_endpoint = \"ftp://model\"\n");
    CHECK_THROWS(load_config(dir));
    write("[connex]\nreasoning_endpoint = \"https://model.example/v1/chat/completions\"\n");
    CHECK(load_config(dir).connex.reasoning_timeout_ms == 3000);
    std::filesystem::remove_all(dir);
}
