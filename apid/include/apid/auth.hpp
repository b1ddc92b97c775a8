#pragma once
// Bearer-token authentication (RFC 6750 §2.1: the Authorization header only, never the query).
// A presented secret is looked up with storage::find_token_by_secret (which hashes it) and
// checked for revocation and expiry against the current time on every request.
//
// Cache: found tokens are kept in memory for `cache_ttl_ms` (5 s by default), keyed by the
// SHA-256 of the secret (the secret itself is not kept). So a revocation, or a change to a
// token's scopes, takes effect within that TTL; expiry is exact because it is checked on each
// request. Unknown secrets are not cached. The cache is bounded (`cache_max_entries`).
// Thread-safe: one Authenticator serves every io thread; each call brings its own connection.
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <unordered_map>

#include "storage/database.hpp"
#include "storage/models.hpp"

namespace postern::api {

enum class AuthError {
    missing,      // no Authorization header, or not the Bearer scheme
    invalid,      // unknown or revoked token, or a malformed Bearer credential
    expired,      // past expires_at
    unavailable,  // the database could not be read
};

// The secret in "Bearer <secret>" (scheme case-insensitive, RFC 9110 §11.1); nullopt when the
// header uses another scheme. An empty view when the scheme is Bearer but the secret is absent.
std::optional<std::string_view> bearer_secret(std::string_view header);

class Authenticator {
 public:
    struct Options {
        std::int64_t cache_ttl_ms = 5000;
        std::size_t cache_max_entries = 10000;
    };
    Authenticator() : Authenticator(Options{}) {}
    explicit Authenticator(Options options) : options_(options) {}

    // `authorization` is the header value, if any; `db` the calling thread's read connection.
    [[nodiscard]] tl::expected<storage::Token, AuthError> authenticate(
        const std::optional<std::string>& authorization, storage::Database& db,
        std::int64_t now_ms);

    // Drops every cached lookup (tests; a future admin "revoke now").
    void clear_cache();

 private:
    struct Entry {
        storage::Token token;
        std::int64_t fetched_at;
    };
    std::optional<storage::Token> cached(const std::string& key, std::int64_t now_ms);
    void remember(const std::string& key, const storage::Token& token, std::int64_t now_ms);

    Options options_;
    std::mutex mu_;
    std::unordered_map<std::string, Entry> cache_;  // guarded by mu_
};

}  // namespace postern::api
