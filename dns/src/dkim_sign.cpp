// DKIM signing at dispatch (RFC 6376 rsa-sha256, RFC 8463 ed25519-sha256), relaxed/relaxed,
// with OpenSSL and keys parsed once per process.
//
// Not libopendkim, although it verifies our signatures in the tests and verifies inbound mail:
// its signing API takes the private key as bytes for every message and parses it again each
// time. Under OpenSSL 3.0 that parse (the provider decoders) plus a fresh key's set-up cost about
// 620 µs of the 880 µs an RSA-2048 signature took through it, against about 260 µs with a loaded
// key (`build/tests/bench/dkim_sign_bench`); at dispatch that was most of the runner's CPU.
// libopendkim 2.11 also leaks its Ed25519 key on every signature (about 550 bytes, found by
// LeakSanitizer). What is left to write here is the canonicalization (RFC 6376 §3.4.2, §3.4.4)
// and the tag list; the hashing and the signatures are OpenSSL's.
#include "dns/dkim_sign.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>
#include <ctime>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "common/ascii.hpp"
#include "common/crypto.hpp"
#include "common/header_fields.hpp"

namespace postern::dns {
namespace {

struct PkeyFree {
    void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};
using Pkey = std::shared_ptr<EVP_PKEY>;

// A parsed private key of the wanted type (EVP_PKEY_RSA or EVP_PKEY_ED25519), or null. Parsed
// keys are kept by the SHA-256 of their PEM text (not the text itself): a few per hosted domain.
// One EVP_PKEY signs on several threads at once (OpenSSL 3 locks what a signature changes, RSA
// blinding included).
Pkey load_key(const std::string& pem, int type) {
    static std::mutex mu;
    static std::unordered_map<std::string, Pkey> cache;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    if (EVP_Digest(pem.data(), pem.size(), md, &md_len, EVP_sha256(), nullptr) != 1) return nullptr;
    const std::string id(reinterpret_cast<char*>(md), md_len);
    {
        std::lock_guard lock(mu);
        if (auto it = cache.find(id); it != cache.end())
            return EVP_PKEY_get_base_id(it->second.get()) == type ? it->second : nullptr;
    }
    if (!pem.starts_with("-----BEGIN ")) return nullptr;
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(
        BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
    if (!bio) return nullptr;
    // An encrypted PEM fails here instead of OpenSSL asking for a passphrase on the terminal.
    auto no_passphrase = [](char*, int, int, void*) { return 0; };
    Pkey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr), PkeyFree{});
    ERR_clear_error();
    if (!key) return nullptr;
    {
        std::lock_guard lock(mu);
        if (cache.size() >= 4096) cache.clear();  // bounded; keys are few
        cache.emplace(id, key);
    }
    return EVP_PKEY_get_base_id(key.get()) == type ? key : nullptr;
}

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
// removed; a non-empty body ends with CRLF. Streamed into `md`.
bool hash_relaxed_body(EVP_MD_CTX* md, std::string_view body) {
    std::string canon;
    std::size_t blank_lines = 0;  // empty lines not yet written: only if text follows
    std::size_t pos = 0;
    while (pos < body.size()) {
        std::size_t end = body.find("\r\n", pos);
        const bool has_crlf = end != std::string_view::npos;
        std::string_view line = body.substr(pos, (has_crlf ? end : body.size()) - pos);
        pos = has_crlf ? end + 2 : body.size();
        canon.clear();
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
            ++blank_lines;
            continue;
        }
        for (; blank_lines > 0; --blank_lines)
            if (EVP_DigestUpdate(md, "\r\n", 2) != 1) return false;
        canon += "\r\n";
        if (EVP_DigestUpdate(md, canon.data(), canon.size()) != 1) return false;
    }
    return true;
}

std::string body_hash(std::string_view body) {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> md(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (!md || EVP_DigestInit_ex(md.get(), EVP_sha256(), nullptr) != 1 ||
        !hash_relaxed_body(md.get(), body) || EVP_DigestFinal_ex(md.get(), out, &len) != 1)
        return {};
    return base64_encode(std::string_view(reinterpret_cast<char*>(out), len));
}

// One DKIM-Signature field ("DKIM-Signature: …\r\n") for `key`, whose body hash is `bh`.
Result<std::string> sign_one(std::string_view headers, const std::vector<mime::HeaderField>& fields,
                             const std::string& bh, const DkimSigningKey& key) {
    const bool rsa = key.algorithm == "rsa-sha256";
    if (!rsa && key.algorithm != "ed25519-sha256")
        return fail(Errc::invalid_argument, "unknown DKIM algorithm " + key.algorithm);
    Pkey pkey = load_key(key.private_pem, rsa ? EVP_PKEY_RSA : EVP_PKEY_ED25519);
    if (!pkey)
        return fail(Errc::invalid_argument, "the DKIM key for " + key.selector + " is not a " +
                                                (rsa ? "RSA" : "Ed25519") + " private key in PEM");
    if (rsa && EVP_PKEY_get_bits(pkey.get()) < 1024)  // RFC 8301 §3.2: verifiers refuse these
        return fail(Errc::invalid_argument, "the RSA key for " + key.selector + " is too short");

    // h=: for each listed name, every field of that name, from the bottom up (RFC 6376 §5.4.2),
    // then the name once more: over-signing (§8.15). The extra entry names an instance that does
    // not exist, which hashes as nothing, so a field of that name added later (a second From or
    // Subject, which mail clients may show instead, or a To or Reply-To the message lacked)
    // breaks the signature. The names of kDkimSignedEvenIfAbsent are listed once even when the
    // message lacks them (§5.4 allows it).
    auto even_if_absent = [](const char* name) {
        for (const char* const* n = kDkimSignedEvenIfAbsent; *n != nullptr; ++n)
            if (iequals_ascii(*n, name)) return true;
        return false;
    };
    std::string h, header_input;
    bool has_from = false;
    for (const char* const* name = kDkimSignedHeaders; *name != nullptr; ++name) {
        bool present = false;
        for (auto it = fields.rbegin(); it != fields.rend(); ++it) {
            if (!iequals_ascii(it->name, *name)) continue;
            header_input += relaxed_header(mime::raw_field(headers, *it)) + "\r\n";
            if (!h.empty()) h += ':';
            h += *name;
            present = true;
            has_from = has_from || name == kDkimSignedHeaders;
        }
        if (!present && !even_if_absent(*name)) continue;
        if (!h.empty()) h += ':';
        h += *name;
    }
    if (!has_from)  // RFC 6376 §5.4: From is always signed
        return fail(Errc::invalid_argument, "the message has no From field");
    const std::vector<std::string> tags{"v=1",
                                        std::string("a=") + key.algorithm,
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

    // rsa-sha256: PKCS#1 v1.5 over SHA-256 of the header input. ed25519-sha256 (RFC 8463 §3):
    // PureEdDSA over the SHA-256 digest of the same input.
    std::string to_sign = header_input;
    if (!rsa) {
        unsigned char md[32];
        unsigned int len = 0;
        if (EVP_Digest(header_input.data(), header_input.size(), md, &len, EVP_sha256(), nullptr) !=
            1)
            return fail(Errc::internal, "SHA-256 failed");
        to_sign.assign(reinterpret_cast<char*>(md), len);
    }
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    std::string sig(static_cast<std::size_t>(EVP_PKEY_get_size(pkey.get())), '\0');
    size_t sig_len = sig.size();
    if (!ctx ||
        EVP_DigestSignInit(ctx.get(), nullptr, rsa ? EVP_sha256() : nullptr, nullptr, pkey.get()) !=
            1 ||
        EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &sig_len,
                       reinterpret_cast<const unsigned char*>(to_sign.data()),
                       to_sign.size()) != 1) {
        ERR_clear_error();
        return fail(Errc::internal, "signing with " + key.selector + " failed");
    }
    sig.resize(sig_len);
    const std::string b = base64_encode(sig);

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

}  // namespace

Result<std::string> dkim_sign(std::string_view message, const std::vector<DkimSigningKey>& keys) {
    std::size_t sep = message.find("\r\n\r\n");
    if (sep == std::string_view::npos)
        return fail(Errc::invalid_argument, "the message has no CRLF header/body separator");
    const std::string_view headers = message.substr(0, sep + 2);
    const auto fields = mime::header_fields(headers);
    std::string out;
    if (keys.empty()) return out;
    const std::string bh = body_hash(message.substr(sep + 4));  // one body hash for every key
    if (bh.empty()) return fail(Errc::internal, "SHA-256 failed");
    for (const auto& key : keys) {
        auto sig = sign_one(headers, fields, bh, key);
        if (!sig) return tl::unexpected(sig.error());
        out += *sig;
    }
    return out;
}

}  // namespace postern::dns
