// DMARC record parsing (RFC 7489 §6.3, §6.4). Where implementations disagree, this follows the
// RFC: "Syntax errors in the remainder of the record SHOULD be discarded in favor of default
// values", so a bad optional tag keeps its default instead of voiding the record (OpenDMARC
// and go-msgauth reject the whole record; see tests/data/dmarc/cases.yml p40-p46).
#include <charconv>
#include <utility>

#include "common/ascii.hpp"
#include "dns/dmarc.hpp"

namespace postern::dns {
namespace {

bool is_wsp(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_wsp(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_wsp(s.back())) s.remove_suffix(1);
    return s;
}

// Calls f(piece) for each `sep`-separated piece, trimmed.
template <class F>
void split(std::string_view s, char sep, F&& f) {
    while (true) {
        const std::size_t i = s.find(sep);
        f(trim(s.substr(0, i)));
        if (i == std::string_view::npos) return;
        s.remove_prefix(i + 1);
    }
}

std::optional<DmarcPolicy> parse_policy(std::string_view v) {
    if (iequals_ascii(v, "none")) return DmarcPolicy::none;
    if (iequals_ascii(v, "quarantine")) return DmarcPolicy::quarantine;
    if (iequals_ascii(v, "reject")) return DmarcPolicy::reject;
    return std::nullopt;
}

std::optional<DmarcAlignment> parse_alignment(std::string_view v) {
    if (iequals_ascii(v, "r")) return DmarcAlignment::relaxed;
    if (iequals_ascii(v, "s")) return DmarcAlignment::strict;
    return std::nullopt;
}

// 1*DIGIT within [0, max].
template <class T>
std::optional<T> parse_number(std::string_view v, std::uint64_t max) {
    if (v.empty() || v.size() > 20) return std::nullopt;
    std::uint64_t n = 0;
    const auto r = std::from_chars(v.data(), v.data() + v.size(), n);
    if (r.ec != std::errc() || r.ptr != v.data() + v.size() || n > max) return std::nullopt;
    return static_cast<T>(n);
}

// fo = 0 / 1 / d / s, colon-separated.
std::optional<std::string> parse_fo(std::string_view v) {
    std::string out;
    bool ok = true;
    split(v, ':', [&](std::string_view o) {
        if (o.size() != 1 ||
            std::string_view("01ds").find(ascii_lower(o[0])) == std::string_view::npos)
            ok = false;
        if (!out.empty()) out.push_back(':');
        if (!o.empty()) out.push_back(ascii_lower(o[0]));
    });
    if (!ok) return std::nullopt;
    return out;
}

// rf = afrf / iodef, colon-separated (iodef was registered by drafts; Mail::DMARC accepts it).
std::optional<std::vector<std::string>> parse_rf(std::string_view v) {
    std::vector<std::string> out;
    bool ok = true;
    split(v, ':', [&](std::string_view f) {
        if (!iequals_ascii(f, "afrf") && !iequals_ascii(f, "iodef")) ok = false;
        std::string s(f);
        for (char& c : s) c = ascii_lower(c);
        out.push_back(std::move(s));
    });
    if (!ok) return std::nullopt;
    return out;
}

// dmarc-uri = URI [ "!" 1*DIGIT [ "k" / "m" / "g" / "t" ] ]. Only schemes a receiver can send
// reports to are kept: mailto (§6.2 requires it), http and https.
std::optional<DmarcUri> parse_uri(std::string_view text) {
    DmarcUri u;
    const std::size_t bang = text.rfind('!');
    std::string_view uri = trim(text.substr(0, bang));
    if (bang != std::string_view::npos) {
        std::string_view size = trim(text.substr(bang + 1));
        std::uint64_t unit = 1;
        if (!size.empty()) {
            switch (ascii_lower(size.back())) {
                case 'k':
                    unit = 1ull << 10;
                    break;
                case 'm':
                    unit = 1ull << 20;
                    break;
                case 'g':
                    unit = 1ull << 30;
                    break;
                case 't':
                    unit = 1ull << 40;
                    break;
                default:
                    break;
            }
            if (unit != 1) size = trim(size.substr(0, size.size() - 1));
        }
        const auto n = parse_number<std::uint64_t>(size, 1ull << 40);
        if (!n) return std::nullopt;
        u.max_size = *n * unit;
    }
    const std::size_t colon = uri.find(':');
    if (colon == std::string_view::npos || colon + 1 == uri.size()) return std::nullopt;
    const std::string_view scheme = uri.substr(0, colon);
    if (!iequals_ascii(scheme, "mailto") && !iequals_ascii(scheme, "http") &&
        !iequals_ascii(scheme, "https"))
        return std::nullopt;
    for (char c : uri)
        if (is_wsp(c) || static_cast<unsigned char>(c) < 0x21 ||
            static_cast<unsigned char>(c) > 0x7e)
            return std::nullopt;
    u.uri.assign(uri);
    return u;
}

std::vector<DmarcUri> parse_uris(std::string_view v) {
    std::vector<DmarcUri> out;
    split(v, ',', [&](std::string_view one) {
        if (auto u = parse_uri(one)) out.push_back(std::move(*u));
    });
    return out;
}

// "tag *WSP = *WSP value" → (tag, value); false for a piece without '='.
bool split_tag(std::string_view piece, std::string_view& tag, std::string_view& value) {
    const std::size_t eq = piece.find('=');
    if (eq == std::string_view::npos) return false;
    tag = trim(piece.substr(0, eq));
    value = trim(piece.substr(eq + 1));
    return true;
}

}  // namespace

bool is_dmarc_record(std::string_view txt) {
    std::string_view tag, value;
    const std::string_view first = trim(txt.substr(0, txt.find(';')));
    return split_tag(first, tag, value) && iequals_ascii(tag, "v") && value == "DMARC1";
}

Result<DmarcRecord> parse_dmarc(std::string_view txt) {
    if (!is_dmarc_record(txt)) return fail(Errc::invalid_argument, "not a v=DMARC1 record");
    DmarcRecord r;
    bool p_valid = false, sp_seen = false, sp_valid = false;
    bool seen_p = false, seen_adkim = false, seen_aspf = false, seen_pct = false, seen_fo = false,
         seen_rf = false, seen_ri = false, seen_rua = false, seen_ruf = false;
    bool first = true;
    split(txt, ';', [&](std::string_view piece) {
        if (first) {  // v=DMARC1, checked above
            first = false;
            return;
        }
        std::string_view tag, v;
        if (piece.empty() || !split_tag(piece, tag, v)) return;  // ";;" or junk like "fo:0"
        // The first occurrence of a tag counts; unknown tags are ignored (§6.3).
        const auto once = [](bool& seen) { return !std::exchange(seen, true); };
        if (iequals_ascii(tag, "p") && once(seen_p)) {
            if (auto p = parse_policy(v)) r.p = *p, p_valid = true;
        } else if (iequals_ascii(tag, "sp") && once(sp_seen)) {
            if (auto p = parse_policy(v)) r.sp = *p, sp_valid = true;
        } else if (iequals_ascii(tag, "adkim") && once(seen_adkim)) {
            if (auto a = parse_alignment(v)) r.adkim = *a;
        } else if (iequals_ascii(tag, "aspf") && once(seen_aspf)) {
            if (auto a = parse_alignment(v)) r.aspf = *a;
        } else if (iequals_ascii(tag, "pct") && once(seen_pct)) {
            if (auto n = parse_number<int>(v, 100)) r.pct = *n;
        } else if (iequals_ascii(tag, "ri") && once(seen_ri)) {
            if (auto n = parse_number<std::uint32_t>(v, 0xffffffffull)) r.ri = *n;
        } else if (iequals_ascii(tag, "fo") && once(seen_fo)) {
            if (auto fo = parse_fo(v)) r.fo = std::move(*fo);
        } else if (iequals_ascii(tag, "rf") && once(seen_rf)) {
            if (auto rf = parse_rf(v)) r.rf = std::move(*rf);
        } else if (iequals_ascii(tag, "rua") && once(seen_rua)) {
            r.rua = parse_uris(v);
        } else if (iequals_ascii(tag, "ruf") && once(seen_ruf)) {
            r.ruf = parse_uris(v);
        }
    });
    // §6.6.3 step 6: no valid p, or an invalid sp: act as p=none if rua can be used.
    if (!p_valid || (sp_seen && !sp_valid)) {
        if (r.rua.empty())
            return fail(Errc::invalid_argument, p_valid ? "invalid sp= and no usable rua="
                                                        : "no valid p= and no usable rua=");
        r.p = r.sp = DmarcPolicy::none;
        r.p_from_rua = true;
        return r;
    }
    if (!sp_valid) r.sp = r.p;
    return r;
}

}  // namespace postern::dns
