#include "apid/auth.hpp"

#include <strings.h>

#include "common/crypto.hpp"
#include "storage/repos.hpp"

namespace postern::api {

namespace {
// Longer credentials are refused before hashing or touching the database.
constexpr std::size_t kMaxSecretLength = 512;
}  // namespace

std::optional<std::string_view> bearer_secret(std::string_view header) {
    constexpr std::string_view kScheme = "bearer";
    std::size_t i = 0;
    while (i < header.size() && (header[i] == ' ' || header[i] == '\t')) ++i;
    header.remove_prefix(i);
    if (header.size() < kScheme.size() ||
        ::strncasecmp(header.data(), kScheme.data(), kScheme.size()) != 0)
        return std::nullopt;
    header.remove_prefix(kScheme.size());
    if (!header.empty() && header.front() != ' ' && header.front() != '\t')
        return std::nullopt;  // "Bearerx": another scheme
    while (!header.empty() && (header.front() == ' ' || header.front() == '\t'))
        header.remove_prefix(1);
    while (!header.empty() && (header.back() == ' ' || header.back() == '\t'))
        header.remove_suffix(1);
    return header;
}

namespace {

// RFC 6750 b64token: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
bool is_b64token(std::string_view s) {
    if (s.empty() || s.size() > kMaxSecretLength) return false;
    std::size_t i = 0;
    for (; i < s.size(); ++i) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
        if (!ok) break;
    }
    if (i == 0) return false;
    for (; i < s.size(); ++i)
        if (s[i] != '=') return false;
    return true;
}

}  // namespace

std::optional<storage::Token> Authenticator::cached(const std::string& key, std::int64_t now_ms) {
    std::lock_guard lock(mu_);
    auto it = cache_.find(key);
    if (it == cache_.end()) return std::nullopt;
    if (now_ms - it->second.fetched_at >= options_.cache_ttl_ms || now_ms < it->second.fetched_at) {
        cache_.erase(it);
        return std::nullopt;
    }
    return it->second.token;
}

void Authenticator::remember(const std::string& key, const storage::Token& token,
                             std::int64_t now_ms) {
    if (options_.cache_ttl_ms <= 0 || options_.cache_max_entries == 0) return;
    std::lock_guard lock(mu_);
    if (cache_.size() >= options_.cache_max_entries) {
        std::erase_if(cache_, [&](const auto& kv) {
            return now_ms - kv.second.fetched_at >= options_.cache_ttl_ms;
        });
        if (cache_.size() >= options_.cache_max_entries) cache_.clear();
    }
    cache_.insert_or_assign(key, Entry{token, now_ms});
}

void Authenticator::clear_cache() {
    std::lock_guard lock(mu_);
    cache_.clear();
}

tl::expected<storage::Token, AuthError> Authenticator::authenticate(
    const std::optional<std::string>& authorization, storage::Database& db, std::int64_t now_ms) {
    if (!authorization) return tl::unexpected(AuthError::missing);
    auto secret = bearer_secret(*authorization);
    if (!secret) return tl::unexpected(AuthError::missing);
    if (!is_b64token(*secret)) return tl::unexpected(AuthError::invalid);

    std::string key = sha256_hex(*secret);
    std::optional<storage::Token> token = cached(key, now_ms);
    if (!token) {
        auto found = storage::find_token_by_secret(db, *secret);
        if (!found) return tl::unexpected(AuthError::unavailable);
        if (!*found) return tl::unexpected(AuthError::invalid);
        token = std::move(**found);
        remember(key, *token, now_ms);
    }
    if (token->revoked_at) return tl::unexpected(AuthError::invalid);
    if (token->expires_at && *token->expires_at <= now_ms)
        return tl::unexpected(AuthError::expired);
    return std::move(*token);
}

}  // namespace postern::api
