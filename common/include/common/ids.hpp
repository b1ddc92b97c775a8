#pragma once
// Opaque, URL-safe ids with a type prefix, sortable by creation time (API.md "Shape").
// Layout: "<prefix>_" + 26 Crockford base32 characters: 48 bits of Unix milliseconds then 80
// bits that are random per millisecond and incremented within one (a ULID, monotonic per process).
// Thread-safe.
#include <string>
#include <string_view>

namespace postern {

std::string new_id(std::string_view prefix);

// True when `id` is "<prefix>_" followed by 26 base32 characters.
bool is_id(std::string_view id, std::string_view prefix);

}  // namespace postern
