#pragma once
// Small wrappers over OpenSSL: hashes, random bytes and base64. Thread-safe.
#include <cstddef>
#include <string>
#include <string_view>

namespace postern {

std::string sha256_hex(std::string_view data);
std::string random_bytes(std::size_t n);
std::string base64_encode(std::string_view data);     // RFC 4648 §4, padded
std::string base64url_encode(std::string_view data);  // no padding
// Returns false when `in` is not valid unpadded or padded base64url.
bool base64url_decode(std::string_view in, std::string& out);
// Strict RFC 4648 §4 base64: padded to a multiple of 4, no whitespace. Returns false otherwise.
bool base64_decode(std::string_view in, std::string& out);
// Compares without an early exit, for secrets.
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace postern
