#pragma once
// Private pieces of the SPF evaluator shared by spf.cpp and spf_lookups.cpp.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dns/ip.hpp"
#include "dns/types.hpp"
#include "spf_record.hpp"

namespace postern::dns::spf {

// One check_host() level: the top, an include, or the record a redirect= led to (which
// replaces the frame it came from).
struct Frame {
    enum class Step : std::uint8_t {
        fetch,            // ask for the TXT records of `domain`
        terms,            // evaluate terms[next]
        include,          // waiting for the frame above to finish
        explain_lookup,   // top frame failed: look up exp=
        explain_text,     // expand the exp= text
        explain_default,  // expand the default explanation
    };
    // The frame's domain and then its record are text_[text_begin, +domain_len+record_len) of
    // the evaluation, its terms are terms_[term_begin, term_end): frames are a stack, so the
    // innermost frame's pieces are always at the end of both buffers, and popping a frame (or
    // replacing its record after redirect=) truncates them. Offsets, not pointers: the
    // buffers may move when they grow.
    std::uint32_t text_begin = 0;
    std::uint32_t domain_len = 0;
    std::uint32_t record_len = 0;
    std::uint32_t term_begin = 0;
    std::uint32_t term_end = 0;
    Modifiers mods;
    std::uint32_t next = 0;  // the term being evaluated, from term_begin
    Step step = Step::fetch;
    bool redirected = false;   // reached through redirect=: "none" becomes permerror
    bool in_progress = false;  // the term has been counted and asked about
};

// What an answer means to a mechanism: RCODE 0 with data, a "void" answer (NXDOMAIN or no
// data, §4.6.4), or a DNS error (temperror).
enum class Outcome : std::uint8_t { records, empty, error };
Outcome classify(const Answer& a, Type type);

// Whether any A/AAAA address of the answer is in the client's network at the given length.
bool any_address_in(const Answer& a, const IpAddress& client, unsigned cidr4, unsigned cidr6);

// Whether a DNS query can be made for the name: 1-63 octet labels, 253 octets in all.
bool is_query_name(std::string_view name);

// name == domain, or name ends in "." + domain; ASCII case-insensitive.
bool is_same_or_subdomain(std::string_view name, std::string_view domain);

}  // namespace postern::dns::spf
