// ed25519-sha256 DKIM signatures (RFC 8463) made with OpenSSL, not libopendkim: libopendkim
// 2.11.0~beta2 leaks the Ed25519 key it loads for every signature (about 550 bytes, found with
// LeakSanitizer; docs/outbound.md). Relaxed/relaxed canonicalization (RFC 6376 §3.4.2, §3.4.4)
// is done here; the keys are parsed once and cached. RSA signatures still come from libopendkim.
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <map>
#include <memory>
#include <mutex>

#include "common/crypto.hpp"
#include "dkim_sign_internal.hpp"

namespace postern::dns::detail {
namespace {

struct PkeyFree {
    void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};
using Pkey = std::shared_ptr<EVP_PKEY>;

// Parsed keys by PEM text (a few per hosted domain; never evicted, bounded by the domains).
Pkey load_key(const std::string& pem) {
    static std::mutex mu;
    static std::map<std::string, Pkey> cache;
    std::lock_guard lock(mu);
    if (auto it = cache.find(pem); it != cache.end()) return it->second;
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), int(pem.size())),
                                                  BIO_free);
    if (!bio) return nullptr;
    Pkey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr), PkeyFree{});
    if (!key || EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_ED25519) return nullptr;
    if (cache.size() < 10000) cache.emplace(pem, key);
    return key;
}

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

// RFC 6376 §3.4.2: lowercase name, unfold, runs of WSP to one SP, no WSP at the ends of the
// value or around the colon.
std::string relaxed_header(std::string_view field) {
    auto colon = field.find(':');
    std::string name(field.substr(0, colon));
    while (!name.empty() && is_wsp(name.back())) name.pop_back();
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::string value;
    bool space = false;
    for (char c : field.substr(colon == std::string_view::npos ? field.size() : colon + 1)) {
        if (c == '\r' || c == '\n') continue;
        if (is_wsp(c)) {
            space = true;
            continue;
        }
        if (space && !value.empty()) value += ' ';
        space = false;
        value += c;
    }
    return name + ":" + value;
}

// RFC 6376 §3.4.4: WSP at line ends removed, runs of WSP to one SP, empty lines at the end
// removed; a non-empty body ends with CRLF.
std::string relaxed_body(std::string_view body) {
    std::string out;
    std::string pending_blank;  // CRLFs of empty lines, written only if text follows
    std::size_t pos = 0;
    while (pos < body.size()) {
        std::size_t end = body.find("\r\n", pos);
        bool has_crlf = end != std::string_view::npos;
        std::string_view line = body.substr(pos, (has_crlf ? end : body.size()) - pos);
        pos = has_crlf ? end + 2 : body.size();
        std::string canon;
        bool space = false;
        for (char c : line) {
            if (is_wsp(c)) {
                space = true;
                continue;
            }
            if (space) canon += ' ';
            space = false;
            canon += c;
        }
        if (canon.empty()) {
            pending_blank += "\r\n";
            continue;
        }
        out += pending_blank;
        pending_blank.clear();
        out += canon + "\r\n";
    }
    return out;
}

std::string sha256(std::string_view data) {
    unsigned char md[32];
    unsigned int len = 0;
    EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
    return std::string(reinterpret_cast<char*>(md), len);
}

}  // namespace

Result<std::string> sign_ed25519(const std::vector<std::string_view>& fields, std::string_view body,
                                 const DkimSigningKey& key, const char* const* signed_headers) {
    Pkey pkey = load_key(key.private_pem);
    if (!pkey) return fail(Errc::internal, "cannot load the Ed25519 key " + key.selector);

    // h=: each listed name present in the message, its last occurrence (RFC 6376 §5.4.2).
    std::string h, header_input;
    for (const char* const* name = signed_headers; *name != nullptr; ++name) {
        const std::string_view want(*name);
        for (auto it = fields.rbegin(); it != fields.rend(); ++it) {
            auto colon = it->find(':');
            if (colon == std::string_view::npos) continue;
            std::string_view n = it->substr(0, colon);
            while (!n.empty() && is_wsp(n.back())) n.remove_suffix(1);
            if (n.size() != want.size() ||
                !std::equal(n.begin(), n.end(), want.begin(), [](char a, char b) {
                    return std::tolower(static_cast<unsigned char>(a)) ==
                           std::tolower(static_cast<unsigned char>(b));
                }))
                continue;
            header_input += relaxed_header(*it) + "\r\n";
            if (!h.empty()) h += ':';
            h += want;
            break;
        }
    }
    const std::string bh = base64_encode(sha256(relaxed_body(body)));
    const std::vector<std::string> tags{"v=1",
                                        "a=ed25519-sha256",
                                        "c=relaxed/relaxed",
                                        "d=" + key.domain,
                                        "s=" + key.selector,
                                        "t=" + std::to_string(std::time(nullptr)),
                                        "h=" + h,
                                        "bh=" + bh};
    // What is hashed is the field with an empty b=, relaxed: folding below does not change it.
    std::string unsigned_value;
    for (const auto& t : tags) unsigned_value += t + "; ";
    unsigned_value += "b=";
    header_input += relaxed_header("DKIM-Signature: " + unsigned_value);
    const std::string digest = sha256(header_input);

    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    unsigned char sig[64];
    size_t sig_len = sizeof sig;
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) != 1 ||
        EVP_DigestSign(ctx.get(), sig, &sig_len,
                       reinterpret_cast<const unsigned char*>(digest.data()), digest.size()) != 1)
        return fail(Errc::internal, "Ed25519 signing failed for " + key.selector);
    const std::string b = base64_encode(std::string_view(reinterpret_cast<char*>(sig), sig_len));

    // One tag per line; b= in chunks (whitespace inside b= is ignored, RFC 6376 §3.5).
    std::string out = "DKIM-Signature: ";
    for (const auto& t : tags) out += t + ";\r\n\t";
    out += "b=";
    for (std::size_t i = 0; i < b.size(); i += 64) {
        if (i > 0) out += "\r\n\t ";
        out += b.substr(i, 64);
    }
    out += "\r\n";
    return out;
}

}  // namespace postern::dns::detail
