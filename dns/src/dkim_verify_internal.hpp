#pragma once
// Private to dkim_verify*.cpp: ownership of the libopendkim handles, the key-record helpers, and
// the per-message state behind DkimVerification.
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// dkim.h is C99 and spells bool as _Bool, which C++ lacks; the two share one ABI.
#define _Bool bool
#include <opendkim/dkim.h>
#undef _Bool

#include "dns/dkim_verify.hpp"

namespace postern::dns::dkim {

// Seconds of clock drift allowed when judging x= and t= (libopendkim's default).
inline constexpr std::int64_t kClockDrift = 300;

struct LibDeleter {
    void operator()(DKIM_LIB* lib) const noexcept { dkim_close(lib); }
};
using LibPtr = std::unique_ptr<DKIM_LIB, LibDeleter>;

struct HandleDeleter {
    void operator()(DKIM* handle) const noexcept { dkim_free(handle); }
};
using HandlePtr = std::unique_ptr<DKIM, HandleDeleter>;

// The DKIM_LIB to verify with. libopendkim judges x= and t= against time(), not against a
// time we give it, and drops an expired signature before hashing it. So when `now` is not the
// wall clock (tests replaying old mail) a private DKIM_LIB is made whose clock drift widens its
// window to cover `now`; our own x=/t= checks against `now` then decide. Otherwise the
// process-wide DKIM_LIB serves: created on first use, shared by all threads (libopendkim
// allows one DKIM_LIB for many concurrent DKIM handles), never changed after creation.
struct Library {
    DKIM_LIB* lib = nullptr;  // null only when dkim_init() failed (out of memory)
    LibPtr owned;             // the private one, when there is one
};
Library library_for(std::int64_t now, std::int64_t wall_clock_now);

// One signature header of the message, in header order.
struct Sig {
    DKIM_SIGINFO* info = nullptr;  // owned by the DKIM handle
    std::size_t question = SIZE_MAX;
    bool decided = false;    // the result is known without (more of) libopendkim's help
    std::string key_record;  // the TXT record the key-lookup callback serves
    std::string b;           // b= without whitespace, for header.b
    DkimResult result;
};

struct State {
    // Declared before `handle`, so destroyed after it: a DKIM handle must not outlive its lib.
    Library library;
    HandlePtr handle;
    DkimVerifyOptions options;
    std::int64_t now = 0;
    std::vector<Sig> sigs;
    std::vector<Question> questions;
    std::vector<std::optional<Answer>> answers;  // parallel to questions
    std::vector<DkimResult> results;
    bool finished = false;
    std::string failure;  // set when libopendkim itself failed (out of memory)
};

// The key-lookup callback's work: copies the prepared record of `info` into buf.
DKIM_CBSTAT serve_key(State& state, DKIM_SIGINFO* info, unsigned char* buf, std::size_t buflen);

// libopendkim's signature errors as RFC 8601 results (dkim_verify_result.cpp).
std::string_view describe(int sigerror);  // a short English description of a DKIM_SIGERROR_*
// Sets out.status, out.reason and out.testing from a signature that went through dkim_eom().
void classify(DKIM_SIGINFO* info, DkimResult& out);

// RFC 6376 §3.2 tag=value lists (dkim_verify_key.cpp).
struct Tag {
    std::string_view name;
    std::string_view value;  // FWS around it trimmed; inner FWS kept
};
// nullopt for a malformed list or a repeated tag (§3.2: the whole list is then invalid).
std::optional<std::vector<Tag>> parse_tags(std::string_view text);
std::optional<std::string_view> find_tag(const std::vector<Tag>& tags, std::string_view name);

// The key record among the TXT records of one name (§3.6.2.2 lets us choose): the first that
// starts with v=DKIM1 and has p=, else the first with p=, else the first. Null when none.
const std::string* select_key_record(const std::vector<std::string>& txt);

// Checks a key record against the signature's algorithm and rewrites what libopendkim cannot
// read. `problem` is set when the key must not be used (k= names another key type).
struct PreparedKey {
    std::string record;      // what libopendkim is given
    std::string problem;     // non-empty: permerror with this reason
    bool converted = false;  // p= held a raw PKCS#1 RSAPublicKey, now re-encoded as SPKI
};
PreparedKey prepare_key(std::string_view record, dkim_alg_t algorithm);

// The record with only the tags libopendkim reads and no whitespace inside values: for records
// longer than its 1024-byte key buffer (long n= notes, p= split by spaces). nullopt when the
// tag list does not parse.
std::optional<std::string> compact_key_record(std::string_view record);

}  // namespace postern::dns::dkim
