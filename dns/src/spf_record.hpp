#pragma once
// The terms of one SPF record, checked as a whole before evaluation (RFC 7208 §4.6: a syntax
// error anywhere is a permerror, even after a match). Private to the SPF evaluator.
#include <cstdint>
#include <string_view>
#include <vector>

#include "dns/ip.hpp"
#include "dns/spf.hpp"

namespace postern::dns::spf {

// A piece of the record text (offsets, so that the record can be moved).
struct Span {
    std::uint32_t off = 0;
    std::uint32_t len = 0;
    std::string_view in(std::string_view record) const { return record.substr(off, len); }
};

enum class Mechanism : std::uint8_t { all, include, a, mx, ptr, ip4, ip6, exists };

struct Term {
    Mechanism mechanism = Mechanism::all;
    SpfKind qualifier = SpfKind::pass;  // the result when it matches
    bool has_spec = false;              // false: the target is the current <domain>
    bool needs_validated_name = false;  // the domain-spec uses %{p}
    std::uint8_t cidr4 = 32;
    std::uint8_t cidr6 = 128;
    Span text;          // the term as written
    Span spec;          // domain-spec
    IpAddress network;  // ip4: / ip6:
};

struct Modifiers {
    bool has_redirect = false;
    bool has_exp = false;
    bool redirect_needs_validated_name = false;
    bool exp_needs_validated_name = false;
    Span redirect;
    Span exp;
};

struct ParseError {
    const char* what = "";
    Span where;  // the offending term
};

// "v=spf1" followed by a space or the end, in any case (§4.5).
bool is_spf_record(std::string_view txt);

// Parses the terms after "v=spf1", appending them to `terms` (spans relative to `record`) and
// setting `mods`. Returns false with `error` set on the first syntax error.
bool parse_record(std::string_view record, std::vector<Term>& terms, Modifiers& mods,
                  ParseError& error);

// domain-spec (§7.1): a macro-string ending in a macro or in "." toplabel ["."].
bool check_domain_spec(std::string_view spec, bool* needs_validated_name);

}  // namespace postern::dns::spf
