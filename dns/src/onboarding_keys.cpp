// DKIM key generation and the expected DNS records of a hosted domain.
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>

#include <boost/json.hpp>

#include "common/crypto.hpp"
#include "dns/onboarding.hpp"

namespace postern::dns {
namespace {

using Pkey = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using Bio = std::unique_ptr<BIO, decltype(&BIO_free)>;

Result<std::string> private_pem(EVP_PKEY* key) {
    Bio bio(BIO_new(BIO_s_mem()), &BIO_free);
    if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
        return fail(Errc::internal, "cannot encode the DKIM private key");
    char* data = nullptr;
    long n = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(n));
}

}  // namespace

Result<DkimKey> generate_dkim_key(std::string_view algorithm, std::string selector) {
    DkimKey out;
    out.selector = std::move(selector);
    out.algorithm = std::string(algorithm);
    if (algorithm == "rsa-sha256") {
        Pkey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048)),
                 &EVP_PKEY_free);
        if (!key) return fail(Errc::internal, "RSA key generation failed");
        int len = i2d_PUBKEY(key.get(), nullptr);
        std::string der(static_cast<std::size_t>(len), '\0');
        auto* p = reinterpret_cast<unsigned char*>(der.data());
        if (len <= 0 || i2d_PUBKEY(key.get(), &p) != len)
            return fail(Errc::internal, "cannot encode the RSA public key");
        out.public_b64 = base64_encode(der);
        auto pem = private_pem(key.get());
        if (!pem) return tl::unexpected(pem.error());
        out.private_pem = std::move(*pem);
        return out;
    }
    if (algorithm == "ed25519-sha256") {
        Pkey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"), &EVP_PKEY_free);
        if (!key) return fail(Errc::internal, "Ed25519 key generation failed");
        std::string raw(32, '\0');
        size_t n = raw.size();
        if (EVP_PKEY_get_raw_public_key(key.get(), reinterpret_cast<unsigned char*>(raw.data()),
                                        &n) != 1 ||
            n != 32)
            return fail(Errc::internal, "cannot encode the Ed25519 public key");
        out.public_b64 = base64_encode(raw);  // RFC 8463 §4: the raw key, not SPKI
        auto pem = private_pem(key.get());
        if (!pem) return tl::unexpected(pem.error());
        out.private_pem = std::move(*pem);
        return out;
    }
    return fail(Errc::invalid_argument, "unknown DKIM algorithm '" + std::string(algorithm) + "'");
}

std::string dkim_record_value(const DkimKey& key) {
    const char* k = key.algorithm == "ed25519-sha256" ? "ed25519" : "rsa";
    return std::string("v=DKIM1; k=") + k + "; p=" + key.public_b64;
}

std::string new_ownership_token() { return "postern-verify=" + base64url_encode(random_bytes(16)); }

std::string_view to_string(RecordKind kind) {
    switch (kind) {
        case RecordKind::mx: return "mx";
        case RecordKind::spf: return "spf";
        case RecordKind::dkim: return "dkim";
        case RecordKind::dmarc: return "dmarc";
        case RecordKind::ownership: return "ownership";
    }
    return "?";
}

std::string_view to_string(CheckStatus status) {
    switch (status) {
        case CheckStatus::ok: return "ok";
        case CheckStatus::missing: return "missing";
        case CheckStatus::mismatch: return "mismatch";
        case CheckStatus::error: return "error";
    }
    return "?";
}

std::vector<ExpectedRecord> expected_records(const DomainSetup& s) {
    std::vector<ExpectedRecord> out;
    out.push_back({RecordKind::mx, s.domain, Type::MX, "10 " + s.mx_host + ".", ""});
    out.push_back({RecordKind::spf, s.domain, Type::TXT, "v=spf1 mx -all", ""});
    for (const auto& key : s.keys)
        out.push_back({RecordKind::dkim, key.selector + "._domainkey." + s.domain, Type::TXT,
                       dkim_record_value(key), key.selector});
    out.push_back({RecordKind::dmarc, "_dmarc." + s.domain, Type::TXT,
                   "v=DMARC1; p=quarantine; adkim=r; aspf=r", ""});
    out.push_back(
        {RecordKind::ownership, "_postern-verify." + s.domain, Type::TXT, s.ownership_token, ""});
    return out;
}

std::string zone_snippet(const std::vector<ExpectedRecord>& records, std::uint32_t ttl) {
    std::string out;
    for (const auto& r : records) {
        out += r.name + ". " + std::to_string(ttl) + " IN " + type_name(r.type) + " ";
        if (r.type != Type::TXT) {
            out += r.value + "\n";
            continue;
        }
        // RFC 1035 character-strings hold at most 255 octets: split long values.
        std::string_view v = r.value;
        bool first = true;
        if (v.size() > 255) out += "( ";
        while (!v.empty() || first) {
            if (!first) out += " ";
            out += "\"" + std::string(v.substr(0, 255)) + "\"";
            v.remove_prefix(std::min<std::size_t>(255, v.size()));
            first = false;
        }
        if (r.value.size() > 255) out += " )";
        out += "\n";
    }
    return out;
}

}  // namespace postern::dns

namespace postern::dns {

std::string check_results_json(const std::vector<RecordCheck>& results) {
    boost::json::array out;
    for (const auto& r : results) {
        boost::json::array observed;
        for (const auto& o : r.observed) observed.emplace_back(o);
        out.push_back(boost::json::object{
            {"kind", to_string(r.expected.kind)},
            {"name", r.expected.name},
            {"type", type_name(r.expected.type)},
            {"expected", r.expected.value},
            {"observed", std::move(observed)},
            {"status", to_string(r.status)},
            {"hint", r.hint},
        });
    }
    return boost::json::serialize(out);
}

Verified verified(const std::vector<RecordCheck>& results) {
    Verified v;
    bool any_dkim = false, all_dkim = true;
    for (const auto& r : results) {
        bool ok = r.status == CheckStatus::ok;
        switch (r.expected.kind) {
            case RecordKind::ownership: v.ownership = ok; break;
            case RecordKind::spf: v.spf = ok; break;
            case RecordKind::dkim:
                any_dkim = true;
                all_dkim = all_dkim && ok;
                break;
            default: break;
        }
    }
    v.dkim = any_dkim && all_dkim;
    return v;
}

}  // namespace postern::dns
