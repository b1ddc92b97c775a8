// The libopendkim library handles and the key-lookup callback through which they get keys from
// us instead of from libresolv.
#include <limits>

#include "dkim_verify_internal.hpp"

namespace postern::dns::dkim {
namespace {

// Called by libopendkim inside dkim_eom(), on the thread that called results(). The handle's
// user context is the State that owns it (set in the DkimVerification constructor); State
// lives on the heap, so moving the DkimVerification does not move it.
DKIM_CBSTAT key_lookup(DKIM* handle, DKIM_SIGINFO* info, u_char* buf, size_t buflen) {
    auto* state = static_cast<State*>(dkim_get_user_context(handle));
    if (state == nullptr) return DKIM_CBSTAT_ERROR;
    return serve_key(*state, info, buf, buflen);
}

LibPtr make_library(std::uint64_t clock_drift) {
    LibPtr lib{dkim_init(nullptr, nullptr)};
    if (!lib) return lib;
    // BADSIGHANDLES: a DKIM-Signature that does not parse still gets a DKIM_SIGINFO, so every
    //   signature header is reported. DELAYSIGPROC: keys are fetched in dkim_eom() (after our
    //   DNS answers are in), not in dkim_eoh().
    u_int flags = DKIM_LIBFLAGS_BADSIGHANDLES | DKIM_LIBFLAGS_DELAYSIGPROC;
    // The defaults stay: 1024-bit minimum RSA key (RFC 8301 §3.2), From must be signed.
    if (dkim_options(lib.get(), DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags, sizeof flags) !=
            DKIM_STAT_OK ||
        dkim_options(lib.get(), DKIM_OP_SETOPT, DKIM_OPTS_CLOCKDRIFT, &clock_drift,
                     sizeof clock_drift) != DKIM_STAT_OK ||
        dkim_set_key_lookup(lib.get(), &key_lookup) != DKIM_STAT_OK)
        return nullptr;
    return lib;
}

}  // namespace

Library library_for(std::int64_t now, std::int64_t wall_clock_now) {
    // libopendkim: expired when time() >= x + drift; future when time() < t - drift. With a
    // drift of |wall clock - now| + 300 it is never stricter than "now >= x + 300" and
    // "now < t - 300", and exactly that on one of the two sides; our own checks against `now`
    // (in examine()) decide the other. A t= below the drift makes libopendkim's unsigned
    // t - drift wrap and call it future: only for t= values older than |wall clock - now|.
    const std::int64_t skew = now > wall_clock_now ? now - wall_clock_now : wall_clock_now - now;
    if (skew > 1) {
        LibPtr own = make_library(static_cast<std::uint64_t>(skew + kClockDrift));
        DKIM_LIB* lib = own.get();
        return Library{lib, std::move(own)};
    }
    static const LibPtr shared = make_library(static_cast<std::uint64_t>(kClockDrift));
    return Library{shared.get(), nullptr};
}

}  // namespace postern::dns::dkim
