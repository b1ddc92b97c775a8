#pragma once
// SPF macro-strings (RFC 7208 §7): syntax check and expansion. Private to the SPF evaluator.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "dns/ip.hpp"

namespace postern::dns::spf {

// Where a macro-string appears decides which letters it may use: c, r and t only in
// explanation text (§7.2); unknown modifiers are checked against the ABNF alone.
enum class MacroUse : std::uint8_t { domain_spec, explanation, unknown_modifier };

struct MacroInfo {
    bool needs_validated_name = false;  // contains %{p}, which needs PTR lookups
    std::size_t last_macro_end = 0;     // offset just past the last macro-expand (0 if none)
};

// Checks the syntax of a macro-string (for explanations: explain-string, which also allows
// spaces). Returns false on a syntax error.
bool check_macro_string(std::string_view text, MacroUse use, MacroInfo* info = nullptr);

// What the macro letters expand to.
struct MacroContext {
    std::string_view sender;         // s: local@domain
    std::string_view local;          // l
    std::string_view sender_domain;  // o
    std::string_view domain;         // d: the <domain> of the current check_host()
    std::string_view helo;           // h
    std::string_view receiver;       // r ("unknown" when empty)
    std::string_view validated;      // p ("unknown" when empty)
    const IpAddress* ip = nullptr;   // i, c, v
    std::int64_t now = 0;            // t
};

// Appends the expansion of `text` to `out`. Returns false on a syntax error (then `out` holds
// a partial expansion). Callers check domain-specs at parse time, so for them it cannot fail.
bool expand_macro_string(std::string_view text, MacroUse use, const MacroContext& ctx,
                         std::string& out);

// Expands a domain-spec into a name to query (§7.3 and §7.5): drops one trailing dot, and
// removes labels from the left while the name is longer than 253 characters.
void expand_domain_spec(std::string_view spec, const MacroContext& ctx, std::string& out);

}  // namespace postern::dns::spf
