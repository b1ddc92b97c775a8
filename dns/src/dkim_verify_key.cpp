// Key records (RFC 6376 §3.6.1): picking one among a name's TXT records, checking k= against the
// signature's a=, and turning a raw PKCS#1 RSAPublicKey in p= into the SubjectPublicKeyInfo that
// libopendkim's d2i_PUBKEY() expects. RFC 6376 §3.6.1 says p= is an RSAPublicKey in one place
// and SPKI in another (erratum 3017); every signer we know writes SPKI, and dkimpy, go-msgauth
// and stalwart accept both. We accept both too.
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cctype>

#include "common/ascii.hpp"
#include "dkim_verify_internal.hpp"

namespace postern::dns::dkim {
namespace {

bool is_wsp(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_wsp(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_wsp(s.back())) s.remove_suffix(1);
    return s;
}

bool valid_tag_name(std::string_view name) {
    if (name.empty() || !std::isalpha(static_cast<unsigned char>(name.front()))) return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
    });
}

std::optional<std::string> base64_decode(std::string_view in) {
    std::string clean;
    clean.reserve(in.size());
    for (char c : in)
        if (!is_wsp(c)) clean += c;
    if (clean.empty() || clean.size() % 4 != 0) return std::nullopt;
    std::string out(clean.size() / 4 * 3, '\0');
    int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(clean.data()),
                            static_cast<int>(clean.size()));
    if (n < 0) return std::nullopt;
    std::size_t last = clean.find_last_not_of('=');
    if (last == std::string::npos || clean.size() - last - 1 > 2) return std::nullopt;
    std::size_t pad = clean.size() - last - 1;
    out.resize(static_cast<std::size_t>(n) - pad);
    return out;
}

std::string base64_encode(const std::string& in) {
    std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(in.data()),
                            static_cast<int>(in.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

struct PkeyDeleter {
    void operator()(EVP_PKEY* key) const noexcept { EVP_PKEY_free(key); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

// Whether DER starts like a PKCS#1 RSAPublicKey, SEQUENCE { INTEGER, INTEGER }, rather than
// an SPKI, SEQUENCE { SEQUENCE { algorithm }, BIT STRING }. A peek, because OpenSSL 3.0's
// d2i_PUBKEY() goes through the provider decoders and costs as much as an RSA verification.
bool looks_like_pkcs1(const std::string& der) {
    const auto* d = reinterpret_cast<const unsigned char*>(der.data());
    if (der.size() < 4 || d[0] != 0x30) return false;
    const std::size_t i = (d[1] & 0x80) != 0 ? 2 + (d[1] & 0x7f) : 2;
    return i < der.size() && d[i] == 0x02;
}

// The SPKI form of `der` when it is a bare PKCS#1 RSAPublicKey.
std::optional<std::string> pkcs1_to_spki(const std::string& der) {
    if (!looks_like_pkcs1(der)) return std::nullopt;
    const auto* begin = reinterpret_cast<const unsigned char*>(der.data());
    const long len = static_cast<long>(der.size());
    const unsigned char* p = begin;
    PkeyPtr rsa{d2i_PublicKey(EVP_PKEY_RSA, nullptr, &p, len)};
    if (!rsa || p != begin + len) return std::nullopt;
    int n = i2d_PUBKEY(rsa.get(), nullptr);
    if (n <= 0) return std::nullopt;
    std::string out(static_cast<std::size_t>(n), '\0');
    auto* o = reinterpret_cast<unsigned char*>(out.data());
    if (i2d_PUBKEY(rsa.get(), &o) != n) return std::nullopt;
    return out;
}

}  // namespace

std::optional<std::vector<Tag>> parse_tags(std::string_view text) {
    std::vector<Tag> tags;
    while (!text.empty()) {
        std::size_t semi = text.find(';');
        std::string_view spec = text.substr(0, semi);
        text = semi == std::string_view::npos ? std::string_view{} : text.substr(semi + 1);
        if (trim(spec).empty()) {
            if (semi != std::string_view::npos && !trim(text).empty()) return std::nullopt;
            continue;  // only a trailing ";" may leave an empty spec
        }
        std::size_t eq = spec.find('=');
        if (eq == std::string_view::npos) return std::nullopt;
        Tag tag{trim(spec.substr(0, eq)), trim(spec.substr(eq + 1))};
        if (!valid_tag_name(tag.name)) return std::nullopt;
        if (find_tag(tags, tag.name)) return std::nullopt;
        tags.push_back(tag);
    }
    return tags;
}

std::optional<std::string_view> find_tag(const std::vector<Tag>& tags, std::string_view name) {
    for (const Tag& t : tags)
        if (t.name == name) return t.value;  // tag names are case-sensitive (§3.2)
    return std::nullopt;
}

const std::string* select_key_record(const std::vector<std::string>& txt) {
    const std::string* with_key = nullptr;
    for (const std::string& record : txt) {
        auto tags = parse_tags(record);
        if (!tags || !find_tag(*tags, "p")) continue;
        if (!tags->empty() && tags->front().name == "v" && tags->front().value == "DKIM1")
            return &record;
        if (!with_key) with_key = &record;
    }
    if (with_key) return with_key;
    return txt.empty() ? nullptr : &txt.front();
}

PreparedKey prepare_key(std::string_view record, dkim_alg_t algorithm) {
    PreparedKey out{std::string(record), {}, false};
    auto tags = parse_tags(record);
    if (!tags) return out;  // libopendkim reports the syntax error

    // §3.6.1 k=: the key type, "rsa" when absent; a=ed25519-sha256 needs k=ed25519 (RFC 8463)
    // and a=rsa-* needs k=rsa. An unknown k= is left to libopendkim (KEYTYPEUNKNOWN).
    std::string_view k = find_tag(*tags, "k").value_or("rsa");
    const bool ed25519 = algorithm == DKIM_SIGN_ED25519SHA256;
    if ((iequals_ascii(k, "rsa") && ed25519) || (iequals_ascii(k, "ed25519") && !ed25519)) {
        out.problem = "key record is k=" + std::string(k) +
                      ", signature is a=" + (ed25519 ? "ed25519-sha256" : "rsa-sha*");
        return out;
    }
    if (ed25519 || !iequals_ascii(k, "rsa")) return out;

    auto p = find_tag(*tags, "p");
    if (!p || p->empty()) return out;  // missing: syntax error; empty: revoked
    auto der = base64_decode(*p);
    if (!der) return out;
    auto spki = pkcs1_to_spki(*der);
    if (!spki) return out;
    // Splice the new value over the old one; the views point into `record`.
    std::size_t at = static_cast<std::size_t>(p->data() - record.data());
    out.record.replace(at, p->size(), base64_encode(*spki));
    out.converted = true;
    return out;
}

std::optional<std::string> compact_key_record(std::string_view record) {
    auto tags = parse_tags(record);
    if (!tags) return std::nullopt;
    std::string out;
    for (const Tag& t : *tags) {
        // The tags libopendkim reads (§3.6.1; g= is RFC 4871's); the rest must be ignored.
        static constexpr std::string_view kKnown[] = {"v", "g", "h", "k", "s", "t", "p"};
        if (std::find(std::begin(kKnown), std::end(kKnown), t.name) == std::end(kKnown)) continue;
        if (!out.empty()) out += "; ";
        out.append(t.name).append("=");
        for (char c : t.value)
            if (!is_wsp(c)) out += c;
    }
    return out;
}

}  // namespace postern::dns::dkim
