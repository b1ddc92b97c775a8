// DKIM signing through libopendkim: one DKIM handle per key, fed the same header fields and body.
#include "dns/dkim_sign.hpp"

#include <sys/types.h>

#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>

#include "dkim_sign_internal.hpp"

// dkim.h is C99 and spells bool as _Bool, which C++ lacks; the two share one ABI.
#define _Bool bool
#include <opendkim/dkim.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#undef _Bool

namespace postern::dns {
namespace {

// Whether OpenSSL can load `pem` as a private key; remembered per key text (a few per domain).
bool loadable_pem(const std::string& pem) {
    static std::mutex mu;
    static std::unordered_set<std::string> good;
    {
        std::lock_guard lock(mu);
        if (good.count(pem)) return true;
    }
    if (!pem.starts_with("-----BEGIN ")) return false;  // libopendkim would read it as DER
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(
        BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
    if (!bio) return false;
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
        PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr), EVP_PKEY_free);
    ERR_clear_error();
    if (!key) return false;
    std::lock_guard lock(mu);
    if (good.size() >= 4096) good.clear();  // bounded; keys are few
    good.insert(pem);
    return true;
}

struct LibDeleter {
    void operator()(DKIM_LIB* lib) const noexcept { dkim_close(lib); }
};
struct HandleDeleter {
    void operator()(DKIM* handle) const noexcept { dkim_free(handle); }
};
using HandlePtr = std::unique_ptr<DKIM, HandleDeleter>;

// One DKIM_LIB for the process, created on first use and never changed: libopendkim allows many
// concurrent DKIM handles on one library handle.
DKIM_LIB* signing_library() {
    static std::once_flag once;
    static std::unique_ptr<DKIM_LIB, LibDeleter> lib;
    std::call_once(once, [] { lib.reset(dkim_init(nullptr, nullptr)); });
    return lib.get();
}

// Splits the header section into unfolded-as-written fields (CRLF kept inside folds, the final
// CRLF dropped), as dkim_header() wants them.
std::vector<std::string_view> header_fields(std::string_view headers) {
    std::vector<std::string_view> fields;
    std::size_t start = 0;
    while (start < headers.size()) {
        std::size_t end = start;
        for (;;) {
            std::size_t crlf = headers.find("\r\n", end);
            if (crlf == std::string_view::npos) {
                end = headers.size();
                break;
            }
            end = crlf + 2;
            if (end >= headers.size() || (headers[end] != ' ' && headers[end] != '\t')) break;
        }
        std::string_view field = headers.substr(start, end - start);
        if (field.ends_with("\r\n")) field.remove_suffix(2);
        if (!field.empty()) fields.push_back(field);
        start = end;
    }
    return fields;
}

Result<std::string> sign_one(DKIM_LIB* lib, const std::vector<std::string_view>& fields,
                             std::string_view body, const DkimSigningKey& key) {
    dkim_alg_t alg;
    if (key.algorithm == "rsa-sha256")
        alg = DKIM_SIGN_RSASHA256;
    else if (key.algorithm == "ed25519-sha256")
        alg = DKIM_SIGN_ED25519SHA256;
    else
        return fail(Errc::invalid_argument, "unknown DKIM algorithm " + key.algorithm);

    // libopendkim leaks a buffer whenever it cannot load a key (found by LSan), so a key reaches
    // it only once OpenSSL has loaded it here (once per distinct key).
    if (!loadable_pem(key.private_pem))
        return fail(Errc::invalid_argument,
                    "the DKIM key for " + key.selector + " is not a usable PEM private key");
    DKIM_STAT status = DKIM_STAT_OK;
    // dkim_sign() copies the key, selector and domain.
    HandlePtr h(
        dkim_sign(lib, reinterpret_cast<const u_char*>("postern"), nullptr,
                  reinterpret_cast<dkim_sigkey_t>(const_cast<char*>(key.private_pem.c_str())),
                  reinterpret_cast<const u_char*>(key.selector.c_str()),
                  reinterpret_cast<const u_char*>(key.domain.c_str()), DKIM_CANON_RELAXED,
                  DKIM_CANON_RELAXED, alg, -1, &status));
    if (!h || status != DKIM_STAT_OK)
        return fail(Errc::internal, "libopendkim cannot sign with " + key.selector + ": " +
                                        dkim_getresultstr(status));
    const char* signed_headers[std::size(kDkimSignedHeaders)];
    for (std::size_t i = 0; i < std::size(kDkimSignedHeaders); ++i)
        signed_headers[i] = kDkimSignedHeaders[i];
    if (dkim_signhdrs(h.get(), signed_headers) != DKIM_STAT_OK)
        return fail(Errc::internal, "libopendkim refused the header list");
    // libopendkim copies each field and reads the body without keeping it.
    for (auto f : fields)
        if (dkim_header(h.get(), reinterpret_cast<u_char*>(const_cast<char*>(f.data())),
                        f.size()) != DKIM_STAT_OK)
            return fail(Errc::internal, "libopendkim refused a header field");
    if (dkim_eoh(h.get()) != DKIM_STAT_OK)
        return fail(Errc::internal, "libopendkim: end of header failed");
    if (!body.empty() &&
        dkim_body(h.get(), reinterpret_cast<u_char*>(const_cast<char*>(body.data())),
                  body.size()) != DKIM_STAT_OK)
        return fail(Errc::internal, "libopendkim: body hashing failed");
    status = dkim_eom(h.get(), nullptr);
    if (status != DKIM_STAT_OK)
        return fail(Errc::internal, "libopendkim cannot sign with " + key.selector + ": " +
                                        dkim_getresultstr(status) + " (" + dkim_geterror(h.get()) +
                                        ")");
    static constexpr std::string_view kName = "DKIM-Signature: ";
    u_char* value = nullptr;
    size_t len = 0;
    status = dkim_getsighdr_d(h.get(), kName.size(), &value, &len);
    if (status != DKIM_STAT_OK || value == nullptr)
        return fail(Errc::internal, "libopendkim produced no signature");
    // Folds come back as LF or CRLF depending on the library's flags: make them all CRLF.
    std::string out(kName);
    for (size_t i = 0; i < len; ++i) {
        char c = static_cast<char>(value[i]);
        if (c == '\r') continue;
        if (c == '\n') out += '\r';
        out += c;
    }
    out += "\r\n";
    return out;
}

}  // namespace

Result<std::string> dkim_sign(std::string_view message, const std::vector<DkimSigningKey>& keys) {
    std::size_t sep = message.find("\r\n\r\n");
    if (sep == std::string_view::npos)
        return fail(Errc::invalid_argument, "the message has no CRLF header/body separator");
    DKIM_LIB* lib = signing_library();
    if (lib == nullptr) return fail(Errc::internal, "libopendkim could not be initialised");
    auto fields = header_fields(message.substr(0, sep + 2));
    std::string_view body = message.substr(sep + 4);
    std::string out;
    for (const auto& key : keys) {
        // Ed25519 through OpenSSL: libopendkim 2.11 leaks its Ed25519 key on every signature.
        auto sig = key.algorithm == "ed25519-sha256"
                       ? detail::sign_ed25519(fields, body, key, kDkimSignedHeaders)
                       : sign_one(lib, fields, body, key);
        if (!sig) return tl::unexpected(sig.error());
        out += *sig;
    }
    return out;
}

}  // namespace postern::dns
