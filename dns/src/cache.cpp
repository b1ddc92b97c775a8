#include "dns/cache.hpp"

#include <algorithm>

namespace postern::dns {
namespace {

constexpr std::size_t kMaxName = 253;  // 255 octets on the wire, RFC 1035 §2.3.4
constexpr std::size_t kMaxLabel = 63;

void append_key(std::string& out, const Question& q, std::string_view name) {
    out.clear();
    out.reserve(name.size() + 1);
    out.push_back(static_cast<char>('0' + static_cast<int>(q.type)));
    for (char c : name) out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
}

std::string_view strip_dot(std::string_view name) {
    if (!name.empty() && name.back() == '.') name.remove_suffix(1);
    return name;
}

}  // namespace

std::optional<std::string_view> query_name(std::string_view name) {
    name = strip_dot(name);
    if (name.empty() || name.size() > kMaxName) return std::nullopt;
    std::size_t label = 0;
    for (char c : name) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f || c == '\\') return std::nullopt;
        if (c == '.') {
            if (label == 0) return std::nullopt;  // empty label: "a..b" or ".a"
            label = 0;
        } else if (++label > kMaxLabel) {
            return std::nullopt;
        }
    }
    if (label == 0) return std::nullopt;  // "a.b.." ends in an empty label
    return name;
}

std::string cache_key(const Question& q) {
    std::string key;
    append_key(key, q, strip_dot(q.name));
    return key;
}

AnswerCache::AnswerCache(CacheOptions options) : options_(options) {}

std::string_view AnswerCache::key_of(const Question& q) {
    append_key(scratch_, q, strip_dot(q.name));
    return scratch_;
}

void AnswerCache::erase(List::iterator it) {
    index_.erase(std::string_view(it->key));
    lru_.erase(it);
}

std::optional<Answer> AnswerCache::get(const Question& q, Time now) {
    const auto found = index_.find(key_of(q));
    if (found == index_.end()) {
        ++stats_.misses;
        return std::nullopt;
    }
    const List::iterator it = found->second;
    if (now >= it->expires) {
        ++stats_.expired;
        ++stats_.misses;
        erase(it);
        return std::nullopt;
    }
    lru_.splice(lru_.begin(), lru_, it);
    ++stats_.hits;
    Answer a = it->answer;
    a.ttl = static_cast<std::uint32_t>(
        std::chrono::duration_cast<std::chrono::seconds>(it->expires - now).count());
    return a;
}

void AnswerCache::put(const Question& q, const Answer& a, Time now) {
    std::uint32_t cap = 0;
    switch (a.status) {
        case Status::ok:
            cap = options_.max_ttl;
            break;
        case Status::nodata:
        case Status::nxdomain:
            cap = options_.max_negative_ttl;
            break;
        case Status::temperror:
        case Status::permerror:
            return;  // failures are never cached: the next lookup asks again
    }
    const std::uint32_t ttl = std::min(a.ttl, cap);
    if (ttl == 0 || options_.max_entries == 0) return;  // TTL 0: use once, do not keep

    const Time expires = now + std::chrono::seconds(ttl);
    if (const auto found = index_.find(key_of(q)); found != index_.end()) {
        const List::iterator it = found->second;
        it->answer = a;
        it->expires = expires;
        lru_.splice(lru_.begin(), lru_, it);
        ++stats_.stored;
        return;
    }
    while (index_.size() >= options_.max_entries) {
        erase(std::prev(lru_.end()));
        ++stats_.evicted;
    }
    lru_.push_front(Entry{std::string(scratch_), a, expires});
    index_.emplace(std::string_view(lru_.front().key), lru_.begin());
    ++stats_.stored;
}

void AnswerCache::clear() {
    index_.clear();
    lru_.clear();
}

}  // namespace postern::dns
