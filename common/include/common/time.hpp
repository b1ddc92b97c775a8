#pragma once
// Clock helpers. Timestamps in storage are Unix milliseconds; the API shows RFC 3339 UTC.
#include <cstdint>
#include <string>

namespace postern {

std::int64_t now_ms();
// Milliseconds on a steady clock: for intervals and throttles, never for timestamps.
std::int64_t monotonic_ms();
std::string rfc3339(std::int64_t unix_ms);       // 2026-11-22T08:03:46Z
std::string rfc5322_date(std::int64_t unix_ms);  // Sun, 22 Nov 2026 08:03:46 +0000

}  // namespace postern
