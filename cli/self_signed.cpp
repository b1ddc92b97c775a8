#include "self_signed.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cstdio>
#include <memory>
#include <stdexcept>

namespace postern::cli {
namespace {

struct FileCloser {
    void operator()(FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<FILE, FileCloser>;
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

    std::filesystem::create_directories(key_path.parent_path());
    std::filesystem::create_directories(cert_path.parent_path());
    mode_t old = umask(077);  // the key file is born private
    File kf(std::fopen(key_path.c_str(), "wb"));
    umask(old);
    check(kf != nullptr, "cannot write the key file");
    check(PEM_write_PrivateKey(kf.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1,
          "write key");
    File cf(std::fopen(cert_path.c_str(), "wb"));
    check(cf != nullptr, "cannot write the certificate file");
    check(PEM_write_X509(cf.get(), cert.get()) == 1, "write certificate");
}

}  // namespace postern::cli
