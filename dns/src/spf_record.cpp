#include "spf_record.hpp"

#include "common/ascii.hpp"
#include "macro.hpp"

namespace postern::dns::spf {
namespace {

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return is_alpha(c) || is_digit(c); }

// toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum )
bool is_toplabel(std::string_view label) {
    if (label.empty() || !is_alnum(label.front()) || !is_alnum(label.back())) return false;
    bool alpha = false, dash = false;
    for (char c : label) {
        if (c == '-') {
            dash = true;
        } else if (is_alpha(c)) {
            alpha = true;
        } else if (!is_digit(c)) {
            return false;
        }
    }
    return alpha || dash;
}

// "0" or 1-3 digits without a leading zero, at most `max`.
bool parse_cidr(std::string_view digits, unsigned max, std::uint8_t& out) {
    if (digits.empty() || digits.size() > 3 || (digits.size() > 1 && digits[0] == '0'))
        return false;
    unsigned v = 0;
    for (char c : digits) {
        if (!is_digit(c)) return false;
        v = v * 10 + static_cast<unsigned>(c - '0');
    }
    if (v > max) return false;
    out = static_cast<std::uint8_t>(v);
    return true;
}

// dual-cidr-length = [ ip4-cidr-length ] [ "/" ip6-cidr-length ], not empty.
bool parse_dual_cidr(std::string_view s, Term& t) {
    const std::size_t dd = s.find("//");
    const std::string_view c4 = s.substr(0, dd);
    if (c4.empty() && dd == std::string_view::npos) return false;
    if (!c4.empty() && (c4[0] != '/' || !parse_cidr(c4.substr(1), 32, t.cidr4))) return false;
    return dd == std::string_view::npos || parse_cidr(s.substr(dd + 2), 128, t.cidr6);
}

// Where a trailing "/n", "//n" or "/n//n" starts in "domain-spec[dual-cidr]", or s.size().
std::size_t cidr_start(std::string_view s) {
    const auto digits_from = [&](std::size_t end) {
        std::size_t b = end;
        while (b > 0 && is_digit(s[b - 1])) --b;
        return b;
    };
    const std::size_t b = digits_from(s.size());
    if (b == s.size() || b == 0 || s[b - 1] != '/') return s.size();
    const std::size_t slash = b - 1;
    if (slash == 0 || s[slash - 1] != '/') return slash;
    const std::size_t dd = slash - 1;  // "//n"; is there a "/n" before it?
    const std::size_t b4 = digits_from(dd);
    return (b4 < dd && b4 > 0 && s[b4 - 1] == '/') ? b4 - 1 : dd;
}

struct Parser {
    std::string_view record;
    std::vector<Term>& terms;
    Modifiers& mods;
    ParseError& error;

    bool fail(const char* what, Span where) {
        error = ParseError{what, where};
        return false;
    }
    Span sub(Span term, std::size_t from, std::size_t len) const {
        return Span{term.off + static_cast<std::uint32_t>(from), static_cast<std::uint32_t>(len)};
    }

    bool modifier(Span term, std::size_t name_len) {
        const std::string_view t = term.in(record);
        const std::string_view name = t.substr(0, name_len);
        const std::string_view value = t.substr(name_len + 1);
        const Span value_span = sub(term, name_len + 1, value.size());
        const bool redirect = iequals_ascii(name, "redirect");
        if (redirect || iequals_ascii(name, "exp")) {
            bool& seen = redirect ? mods.has_redirect : mods.has_exp;
            if (seen) return fail(redirect ? "redirect= given twice" : "exp= given twice", term);
            bool needs_p = false;
            if (!check_domain_spec(value, &needs_p))
                return fail(redirect ? "bad redirect= domain" : "bad exp= domain", term);
            seen = true;
            (redirect ? mods.redirect : mods.exp) = value_span;
            (redirect ? mods.redirect_needs_validated_name : mods.exp_needs_validated_name) =
                needs_p;
            return true;
        }
        // Unknown modifiers are ignored, but their value must be a macro-string (§6, A).
        if (!check_macro_string(value, MacroUse::unknown_modifier))
            return fail("bad macro in modifier", term);
        return true;
    }

    bool target(Span term, std::size_t from, std::string_view spec, Term& m) {
        if (!check_domain_spec(spec, &m.needs_validated_name)) return fail("bad domain-spec", term);
        m.has_spec = true;
        m.spec = sub(term, from, spec.size());
        return true;
    }

    bool mechanism(Span term) {
        const std::string_view t = term.in(record);
        Term m;
        m.text = term;
        std::size_t i = 0;
        switch (t[0]) {
            case '+':
                m.qualifier = SpfKind::pass;
                i = 1;
                break;
            case '-':
                m.qualifier = SpfKind::fail;
                i = 1;
                break;
            case '~':
                m.qualifier = SpfKind::softfail;
                i = 1;
                break;
            case '?':
                m.qualifier = SpfKind::neutral;
                i = 1;
                break;
            default:
                break;
        }
        std::size_t n = i;
        while (n < t.size() && is_alnum(t[n])) ++n;
        const std::string_view rest = t.substr(n);
        const bool colon = !rest.empty() && rest[0] == ':';
        // The name in lowercase (the longest is "include").
        char buf[8];
        const std::size_t len = n - i;
        if (len >= sizeof buf) return fail("unknown mechanism", term);
        for (std::size_t k = 0; k < len; ++k) buf[k] = ascii_lower(t[i + k]);
        const std::string_view name(buf, len);
        if (name == "all") {
            m.mechanism = Mechanism::all;
            if (!rest.empty()) return fail("\"all\" takes no argument", term);
        } else if (name == "include" || name == "exists") {
            m.mechanism = name == "include" ? Mechanism::include : Mechanism::exists;
            if (!colon || !target(term, n + 1, rest.substr(1), m)) return fail("bad domain", term);
        } else if (name == "a" || name == "mx") {
            m.mechanism = name == "a" ? Mechanism::a : Mechanism::mx;
            std::string_view cidr = rest;
            if (colon) {
                const std::string_view spec_cidr = rest.substr(1);
                const std::size_t c = cidr_start(spec_cidr);
                if (!target(term, n + 1, spec_cidr.substr(0, c), m)) return false;
                cidr = spec_cidr.substr(c);
            }
            if (!cidr.empty() && !parse_dual_cidr(cidr, m)) return fail("bad CIDR length", term);
        } else if (name == "ptr") {
            m.mechanism = Mechanism::ptr;
            if (colon ? !target(term, n + 1, rest.substr(1), m) : !rest.empty())
                return fail("bad ptr", term);
        } else if (name == "ip4" || name == "ip6") {
            const bool v4 = name == "ip4";
            m.mechanism = v4 ? Mechanism::ip4 : Mechanism::ip6;
            if (!colon) return fail("missing network", term);
            const std::string_view body = rest.substr(1);
            const std::size_t slash = body.find('/');
            const auto ip = IpAddress::parse(body.substr(0, slash));
            if (!ip || ip->is_v4() != v4) return fail("bad IP network", term);
            m.network = *ip;
            if (slash != std::string_view::npos &&
                !parse_cidr(body.substr(slash + 1), v4 ? 32 : 128, v4 ? m.cidr4 : m.cidr6))
                return fail("bad CIDR length", term);
        } else {
            return fail("unknown mechanism", term);
        }
        terms.push_back(m);
        return true;
    }

    bool term(Span span) {
        const std::string_view t = span.in(record);
        // name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." ) followed by "=" is a modifier.
        if (is_alpha(t[0])) {
            std::size_t n = 1;
            while (n < t.size() && (is_alnum(t[n]) || t[n] == '-' || t[n] == '_' || t[n] == '.'))
                ++n;
            if (n < t.size() && t[n] == '=') return modifier(span, n);
        }
        return mechanism(span);
    }
};

}  // namespace

bool is_spf_record(std::string_view txt) {
    return txt.size() >= 6 && iequals_ascii(txt.substr(0, 6), "v=spf1") &&
           (txt.size() == 6 || txt[6] == ' ');
}

bool parse_record(std::string_view record, std::vector<Term>& terms, Modifiers& mods,
                  ParseError& error) {
    mods = Modifiers{};
    Parser p{record, terms, mods, error};
    // Terms are separated by one or more spaces, and only spaces (§4.6.1).
    std::size_t i = 6;
    while (i < record.size()) {
        if (record[i] == ' ') {
            ++i;
            continue;
        }
        std::size_t end = record.find(' ', i);
        if (end == std::string_view::npos) end = record.size();
        if (!p.term(Span{static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(end - i)}))
            return false;
        i = end;
    }
    return true;
}

bool check_domain_spec(std::string_view spec, bool* needs_validated_name) {
    MacroInfo info;
    if (spec.empty() || !check_macro_string(spec, MacroUse::domain_spec, &info)) return false;
    if (needs_validated_name) *needs_validated_name = info.needs_validated_name;
    if (info.last_macro_end == spec.size()) return true;  // domain-end = macro-expand
    std::string_view tail = spec.substr(info.last_macro_end);
    if (tail.back() == '.') tail.remove_suffix(1);
    const std::size_t dot = tail.rfind('.');
    return dot != std::string_view::npos && is_toplabel(tail.substr(dot + 1));
}

}  // namespace postern::dns::spf
