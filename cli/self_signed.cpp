#include "self_signed.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>

#include "common/files.hpp"

namespace postern::cli {
namespace {

using Key = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using Cert = std::unique_ptr<X509, decltype(&X509_free)>;
using Ext = std::unique_ptr<X509_EXTENSION, decltype(&X509_EXTENSION_free)>;

void check(bool ok, const char* what) {
    if (!ok) throw std::runtime_error(std::string("making the TLS certificate: ") + what);
}

}  // namespace

void write_self_signed(const std::string& hostname, const std::filesystem::path& cert_path,
                       const std::filesystem::path& key_path) {
    Key key(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048)), &EVP_PKEY_free);
    check(key != nullptr, "key generation failed");
    Cert cert(X509_new(), &X509_free);
    check(cert != nullptr, "X509_new");
    check(X509_set_version(cert.get(), 2) == 1, "version");
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), static_cast<long>(std::time(nullptr)));
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 60L * 60 * 24 * 825);
    check(X509_set_pubkey(cert.get(), key.get()) == 1, "pubkey");
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(hostname.c_str()), -1, -1, 0);
    check(X509_set_issuer_name(cert.get(), name) == 1, "issuer");
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
    std::string san = "DNS:" + hostname;
    Ext ext(X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, san.c_str()),
            &X509_EXTENSION_free);
    check(ext != nullptr, "subjectAltName");
    check(X509_add_ext(cert.get(), ext.get(), -1) == 1, "add extension");
    check(X509_sign(cert.get(), key.get(), EVP_sha256()) > 0, "sign");

    auto pem = [](auto write) {
        std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
        check(bio != nullptr && write(bio.get()) == 1, "PEM");
        char* data = nullptr;
        long len = BIO_get_mem_data(bio.get(), &data);
        return std::string(data, static_cast<std::size_t>(len));
    };
    std::string key_pem = pem([&](BIO* b) {
        return PEM_write_bio_PrivateKey(b, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
    });
    std::string cert_pem = pem([&](BIO* b) { return PEM_write_bio_X509(b, cert.get()); });
    std::filesystem::create_directories(cert_path.parent_path());
    std::filesystem::create_directories(key_path.parent_path());
    std::filesystem::permissions(key_path.parent_path(), std::filesystem::perms::owner_all);
    // The key is 0600 whatever was there before (a file left world-readable is replaced).
    if (auto w = write_file_atomically(key_path, key_pem, 0600); !w)
        throw std::runtime_error(w.error().message());
    if (auto w = write_file_atomically(cert_path, cert_pem, 0644); !w)
        throw std::runtime_error(w.error().message());
}

}  // namespace postern::cli
