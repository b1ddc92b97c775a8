#pragma once
// DKIM signing at dispatch (RFC 6376, RFC 8463): one DKIM-Signature field per key (rsa-sha256,
// ed25519-sha256), relaxed/relaxed, over a fixed list of header fields (kDkimSignedHeaders;
// every name is in h=, those a message lacks once, so that they cannot be added later). Signed with
// OpenSSL and keys parsed once per process; dkim_sign.cpp says why not through libopendkim. Pure
// CPU work with no I/O: call it from a worker pool, not an io thread (an RSA-2048 signature takes
// about 260 µs). Thread-safe.
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace postern::dns {

struct DkimSigningKey {
    std::string domain;       // d=
    std::string selector;     // s=
    std::string algorithm;    // "rsa-sha256" | "ed25519-sha256"
    std::string private_pem;  // PKCS#8 PEM (a secret: never logged)
};

// The header fields signed, in h= order: every field of each name, then the name once more
// (over-signed, RFC 6376 §8.15, so that such a field cannot be added after signing). From first:
// it must be present.
inline constexpr const char* kDkimSignedHeaders[] = {
    "From",       "To",           "Cc",           "Reply-To",
    "Subject",    "Date",         "Message-ID",   "In-Reply-To",
    "References", "MIME-Version", "Content-Type", "Content-Transfer-Encoding",
    nullptr};

// Of those, the names also listed when the message has no such field: who it is from and to,
// where replies go, what it is about and which thread it is in cannot be added later either.
// (The MIME fields are not: a gateway may add them to a message that lacked them.)
inline constexpr const char* kDkimSignedEvenIfAbsent[] = {
    "From", "To", "Cc", "Reply-To", "Subject", "In-Reply-To", "References", nullptr};

// The DKIM-Signature header fields for `message` (CRLF line ends), one per key in key order, each
// "DKIM-Signature: …\r\n" folded with CRLF+TAB, ready to be prepended to the message.
// Errc::invalid_argument for a message without a header/body separator or a From field, an
// unknown algorithm, or a key that is not a PEM private key of the algorithm's type (RSA keys
// of at least 1024 bits); Errc::internal when OpenSSL fails to sign.
[[nodiscard]] Result<std::string> dkim_sign(std::string_view message,
                                            const std::vector<DkimSigningKey>& keys);

}  // namespace postern::dns
