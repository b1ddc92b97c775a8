// DKIM signing cost per message through dns::dkim_sign (rsa-sha256 through libopendkim,
// ed25519-sha256 with OpenSSL and a cached key), beside OpenSSL signing a
// digest with an already loaded key: the difference is what libopendkim spends per signature
// outside the signature itself (loading the PEM key through OpenSSL 3's decoders, a fresh RSA
// key's Montgomery set-up, header processing). Prints microseconds per message; not a test.
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
    std::printf("| OpenSSL alone, RSA-2048 signature, key loaded once | %.0f |\n",
                openssl_floor(rsa->private_pem, false, n));
    std::printf("| OpenSSL alone, Ed25519 signature, key loaded once | %.0f |\n",
                openssl_floor(ed->private_pem, true, n));
    return 0;
}
