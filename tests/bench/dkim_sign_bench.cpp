// DKIM signing cost per message: dns::dkim_sign (OpenSSL, keys parsed once) beside libopendkim
// signing the same message with the same RSA key (its API takes the key as bytes for every
// message and parses it again, through OpenSSL 3's decoders, then sets up a fresh RSA key) and
// beside OpenSSL signing a digest with a loaded key (the floor). Prints microseconds per
// message; not a test. This is why dns::dkim_sign does not sign through libopendkim.
#include <sys/types.h>

#define _Bool bool  // dkim.h is C99
#include <opendkim/dkim.h>
#undef _Bool
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "dns/dkim_sign.hpp"
#include "dns/onboarding.hpp"

using namespace postern;
using Clock = std::chrono::steady_clock;

namespace {

double us_per(int n, Clock::time_point t0) {
    return std::chrono::duration<double, std::micro>(Clock::now() - t0).count() / n;
}

// Signs a 32-byte digest n times with a key loaded once (the floor for one signature).
double openssl_floor(const std::string& pem, bool ed25519, int n) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), int(pem.size())),
                                                  BIO_free);
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
        PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr), EVP_PKEY_free);
    unsigned char digest[32] = {1, 2, 3};
    unsigned char sig[512];
    auto t0 = Clock::now();
    for (int i = 0; i < n; ++i) {
        std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(),
                                                                    EVP_MD_CTX_free);
        size_t len = sizeof sig;
        EVP_DigestSignInit(ctx.get(), nullptr, ed25519 ? nullptr : EVP_sha256(), nullptr,
                           key.get());
        EVP_DigestSign(ctx.get(), sig, &len, digest, sizeof digest);
    }
    return us_per(n, t0);
}

// One rsa-sha256 signature through libopendkim, as the signer used it before (relaxed/relaxed).
bool libopendkim_sign(DKIM_LIB* lib, const std::string& msg, const std::string& pem) {
    DKIM_STAT st = DKIM_STAT_OK;
    DKIM* h = dkim_sign(lib, reinterpret_cast<const u_char*>("bench"), nullptr,
                        reinterpret_cast<dkim_sigkey_t>(const_cast<char*>(pem.c_str())),
                        reinterpret_cast<const u_char*>("r"),
                        reinterpret_cast<const u_char*>("example.com"), DKIM_CANON_RELAXED,
                        DKIM_CANON_RELAXED, DKIM_SIGN_RSASHA256, -1, &st);
    if (h == nullptr) return false;
    bool ok = dkim_chunk(h, reinterpret_cast<u_char*>(const_cast<char*>(msg.data())), msg.size()) ==
                  DKIM_STAT_OK &&
              dkim_chunk(h, nullptr, 0) == DKIM_STAT_OK && dkim_eom(h, nullptr) == DKIM_STAT_OK;
    u_char* hdr = nullptr;
    size_t len = 0;
    ok = ok && dkim_getsighdr_d(h, 16, &hdr, &len) == DKIM_STAT_OK;
    dkim_free(h);
    return ok;
}

}  // namespace

int main() {
    const int n = 500;
    auto rsa = dns::generate_dkim_key("rsa-sha256", "r");
    auto ed = dns::generate_dkim_key("ed25519-sha256", "e");
    if (!rsa || !ed) return 1;
    std::string msg = "From: a@example.com\r\nTo: b@x.test\r\nSubject: s\r\n\r\n";
    for (int i = 0; i < 52; ++i) msg += std::string(76, 'x') + "\r\n";
    struct Case {
        const char* name;
        std::vector<dns::DkimSigningKey> keys;
    } cases[] = {
        {"rsa-sha256", {{"example.com", "r", "rsa-sha256", rsa->private_pem}}},
        {"ed25519-sha256", {{"example.com", "e", "ed25519-sha256", ed->private_pem}}},
        {"both",
         {{"example.com", "r", "rsa-sha256", rsa->private_pem},
          {"example.com", "e", "ed25519-sha256", ed->private_pem}}},
    };
    std::printf("| signing (4 KiB message) | µs per message |\n|---|---:|\n");
    for (const auto& c : cases) {
        auto t0 = Clock::now();
        for (int i = 0; i < n; ++i)
            if (!dns::dkim_sign(msg, c.keys)) return 1;
        std::printf("| dns::dkim_sign, %s | %.0f |\n", c.name, us_per(n, t0));
    }
    DKIM_LIB* lib = dkim_init(nullptr, nullptr);
    auto t0 = Clock::now();
    for (int i = 0; i < n; ++i)
        if (!libopendkim_sign(lib, msg, rsa->private_pem)) return 1;
    std::printf("| libopendkim, rsa-sha256 (key parsed per message) | %.0f |\n", us_per(n, t0));
    dkim_close(lib);
    std::printf("| OpenSSL alone, RSA-2048 signature, key loaded once | %.0f |\n",
                openssl_floor(rsa->private_pem, false, n));
    std::printf("| OpenSSL alone, Ed25519 signature, key loaded once | %.0f |\n",
                openssl_floor(ed->private_pem, true, n));
    return 0;
}
