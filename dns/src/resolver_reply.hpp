#pragma once
// Private to the resolver: a c-ares reply (the status of ares_query and the raw message) turned
// into an Answer. Record data comes from c-ares' parsers; what c-ares 1.18 does not expose (the
// TTLs of MX and TXT records, the CNAME chain, the SOA of a negative answer) comes from a small,
// strict reader of the answer and authority sections.
#include <cstdint>
#include <string>
#include <string_view>

#include "dns/types.hpp"

namespace postern::dns::reply {

struct Parsed {
    Answer answer;
    // Not empty: the reply holds a CNAME chain from the name asked to this name and no records
    // of the type asked for (the server did not follow it): ask this name next.
    std::string follow;
};

// `status`: what ares_query reported (ARES_SUCCESS, ARES_ENODATA, ARES_ENOTFOUND, ...);
// `abuf`/`alen`: the reply, or null. `negative_ttl`: the TTL of a negative answer whose reply
// carries no SOA (RFC 2308 §5 asks for min(SOA TTL, SOA MINIMUM); without an SOA we guess).
Parsed read(Type type, std::string_view name, int status, const unsigned char* abuf, int alen,
            std::uint32_t negative_ttl);

// The RR type number of `type` (A = 1, ...).
int rr_type(Type type);

}  // namespace postern::dns::reply
