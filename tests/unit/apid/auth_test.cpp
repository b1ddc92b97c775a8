#include "apid/auth.hpp"

#include <catch2/catch.hpp>

#include "fixture.hpp"

using namespace postern::api;
using postern::api::test::Fixture;

TEST_CASE("bearer_secret parses the Bearer scheme only", "[apid][auth]") {
    CHECK(*bearer_secret("Bearer abc") == "abc");
    CHECK(*bearer_secret("bearer abc") == "abc");
    CHECK(*bearer_secret("BEARER   abc  ") == "abc");
    CHECK(bearer_secret("Bearer")->empty());
    CHECK(bearer_secret("Bearer ")->empty());
    CHECK_FALSE(bearer_secret("Basic YWxhZGRpbjpvcGVuc2VzYW1l"));
    CHECK_FALSE(bearer_secret("Bearerabc"));
    CHECK_FALSE(bearer_secret(""));
}

TEST_CASE("authenticate: valid, unknown, malformed, missing", "[apid][auth]") {
    Fixture f;
    Authenticator auth;
    auto ok = auth.authenticate("Bearer " + f.alice_token, *f.db, f.now);
    REQUIRE(ok);
    CHECK(ok->tenant_id == f.tenant.id);
    CHECK(*ok->mailbox_id == f.alice.id);

    CHECK(auth.authenticate(std::nullopt, *f.db, f.now).error() == AuthError::missing);
    CHECK(auth.authenticate("Basic abc", *f.db, f.now).error() == AuthError::missing);
    CHECK(auth.authenticate("Bearer", *f.db, f.now).error() == AuthError::invalid);
    CHECK(auth.authenticate("Bearer pst_nope", *f.db, f.now).error() == AuthError::invalid);
    CHECK(auth.authenticate("Bearer a b", *f.db, f.now).error() == AuthError::invalid);
    CHECK(auth.authenticate("Bearer " + std::string(600, 'a'), *f.db, f.now).error() ==
          AuthError::invalid);
}

TEST_CASE("authenticate: revocation takes effect within the cache TTL", "[apid][auth]") {
    Fixture f;
    Authenticator auth({/*cache_ttl_ms=*/5000, /*cache_max_entries=*/100});
    REQUIRE(auth.authenticate("Bearer " + f.alice_token, *f.db, f.now));
    REQUIRE(postern::storage::revoke_token(*f.db, f.tenant.id, f.alice_token_id));
    // Still cached 4.9 s later; refused once the entry is older than the TTL.
    CHECK(auth.authenticate("Bearer " + f.alice_token, *f.db, f.now + 4900));
    CHECK(auth.authenticate("Bearer " + f.alice_token, *f.db, f.now + 5000).error() ==
          AuthError::invalid);
    // A token revoked before its first use is refused at once.
    Authenticator fresh;
    CHECK(fresh.authenticate("Bearer " + f.alice_token, *f.db, f.now).error() ==
          AuthError::invalid);
}

TEST_CASE("authenticate: expiry is exact even when cached", "[apid][auth]") {
    Fixture f;
    auto t = postern::api::test::must(postern::storage::create_token(
        *f.db, f.tenant.id, f.alice.id, {"read"}, std::nullopt, f.now + 1000));
    Authenticator auth;
    REQUIRE(auth.authenticate("Bearer " + t.secret, *f.db, f.now));
    CHECK(auth.authenticate("Bearer " + t.secret, *f.db, f.now + 999));
    CHECK(auth.authenticate("Bearer " + t.secret, *f.db, f.now + 1000).error() ==
          AuthError::expired);
}

TEST_CASE("authenticate: without a cache every call reads the database", "[apid][auth]") {
    Fixture f;
    Authenticator auth({0, 0});
    REQUIRE(auth.authenticate("Bearer " + f.alice_token, *f.db, f.now));
    REQUIRE(postern::storage::revoke_token(*f.db, f.tenant.id, f.alice_token_id));
    CHECK(auth.authenticate("Bearer " + f.alice_token, *f.db, f.now).error() == AuthError::invalid);
}
