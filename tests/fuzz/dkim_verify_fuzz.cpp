// Fuzz target: DKIM verification (dns/dkim_verify.hpp: libopendkim, our key-record reading and
// result reporting), as the MX runs it on every inbound message. The input is the key TXT record,
// a NUL byte, then the message; every key question is answered with that record. Line ends in the
// message are made CRLF first (mime::crlf_lines), as the SMTP layer guarantees: it refuses bare
// LF and CR. Invariants checked:
// - at most max_signatures key questions, each a TXT question under "._domainkey.";
// - a pass names a domain and a selector and uses rsa-sha256 or ed25519-sha256 (RFC 8301: never
//   rsa-sha1); every result but a pass or none gives a reason;
// - a second, independent verification of the same input gives the same results (no state
//   shared between libopendkim handles, nothing read uninitialised).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "common/mime.hpp"
#include "dns/dkim_verify.hpp"
#include "invariant.hpp"

using namespace postern;
using namespace postern::dns;

namespace {

bool same(const DkimResult& a, const DkimResult& b) {
    return a.status == b.status && a.domain == b.domain && a.selector == b.selector &&
           a.algorithm == b.algorithm && a.identity == b.identity && a.header_b == b.header_b &&
           a.body_length == b.body_length && a.testing == b.testing && a.reason == b.reason;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    const std::size_t nul = in.find('\0');
    if (nul == std::string_view::npos) return 0;
    const std::string key(in.substr(0, nul));
    const std::string message = mime::crlf_lines(in.substr(nul + 1));

    DkimVerifyOptions options;
    options.now = 1795400000;  // after the t= of the dkimpy fixtures
    const auto resolve = [&key](const Question&) {
        Answer a;
        a.status = key.empty() ? Status::nxdomain : Status::ok;
        if (!key.empty()) a.txt.push_back(key);
        a.ttl = 300;
        return a;
    };
    DkimVerification v(message, options);
    FUZZ_CHECK(v.questions().size() <= options.max_signatures);
    for (const Question& q : v.questions()) {
        FUZZ_CHECK(q.type == Type::TXT);
        FUZZ_CHECK(q.name.find("._domainkey.") != std::string::npos);
    }
    while (const Question* q = v.next()) v.answer(resolve(*q));
    const std::vector<DkimResult>& results = v.results();
    for (const DkimResult& r : results) {
        if (r.status == DkimStatus::pass) {
            FUZZ_CHECK(!r.domain.empty() && !r.selector.empty());
            FUZZ_CHECK(r.algorithm == "rsa-sha256" || r.algorithm == "ed25519-sha256");
        } else if (r.status != DkimStatus::none) {
            FUZZ_CHECK(!r.reason.empty());
        }
    }
    const std::vector<DkimResult> again = verify_dkim(resolve, message, options);
    FUZZ_CHECK(again.size() == results.size());
    for (std::size_t i = 0; i < results.size(); ++i) {
        if (!same(again[i], results[i])) {
            for (const auto* r : {&results[i], &again[i]})
                std::fprintf(stderr, "result %zu: %s d=%s s=%s a=%s i=%s b=%s l=%llu t=%d (%s)\n",
                             i, std::string(to_string(r->status)).c_str(), r->domain.c_str(),
                             r->selector.c_str(), r->algorithm.c_str(), r->identity.c_str(),
                             r->header_b.c_str(),
                             static_cast<unsigned long long>(r->body_length.value_or(0)),
                             r->testing ? 1 : 0, r->reason.c_str());
        }
        FUZZ_CHECK(same(again[i], results[i]));
    }
    return 0;
}
