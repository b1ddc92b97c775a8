#include "common/ids.hpp"

#include <openssl/rand.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <mutex>

namespace postern {
namespace {

constexpr char kAlphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

struct State {
    std::mutex mu;
    std::uint64_t last_ms = 0;
    std::array<std::uint8_t, 10> random{};
};

State& state() {
    static State s;
    return s;
}

}  // namespace

std::string new_id(std::string_view prefix) {
    auto ms = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                             std::chrono::system_clock::now().time_since_epoch())
                                             .count());
    std::array<std::uint8_t, 16> bytes{};
    {
        State& s = state();
        std::lock_guard lock(s.mu);
        if (ms <= s.last_ms) {
            ms = s.last_ms;
            // Increment the 80-bit random part so ids stay strictly increasing in this process.
            for (int i = 9; i >= 0; --i) {
                if (++s.random[i] != 0) break;
            }
        } else {
            s.last_ms = ms;
            RAND_bytes(s.random.data(), static_cast<int>(s.random.size()));
            s.random[0] &= 0x7f;  // leave headroom for increments within one millisecond
        }
        for (int i = 0; i < 6; ++i) bytes[i] = static_cast<std::uint8_t>(ms >> (8 * (5 - i)));
        for (int i = 0; i < 10; ++i) bytes[6 + i] = s.random[i];
    }
    // 128 bits -> 26 base32 characters (the first carries 3 bits).
    std::string out(prefix);
    out += '_';
    unsigned __int128 v = 0;
    for (auto b : bytes) v = (v << 8) | b;
    char buf[26];
    for (int i = 25; i >= 0; --i) {
        buf[i] = kAlphabet[static_cast<unsigned>(v & 31)];
        v >>= 5;
    }
    out.append(buf, 26);
    return out;
}

bool is_id(std::string_view id, std::string_view prefix) {
    if (id.size() != prefix.size() + 27 || id.substr(0, prefix.size()) != prefix ||
        id[prefix.size()] != '_')
        return false;
    for (char c : id.substr(prefix.size() + 1)) {
        bool ok = false;
        for (const char* p = kAlphabet; *p; ++p) ok = ok || *p == c;
        if (!ok) return false;
    }
    return true;
}

}  // namespace postern
