#pragma once
// Mail authentication in the Asio shell: SPF starts at MAIL FROM in the background, on the
// connection's executor (one thread), and the session goes on reading RCPT and DATA; at the end of
// data, authenticate() awaits it, verifies DKIM (on the CPU pool when there is one) while
// it discovers the DMARC policy, and returns the verdict. The decisions themselves are pure
// (smtpd/auth/verdict.hpp).
//
// Bounds: SPF gives up at [auth] spf_timeout_ms after MAIL FROM, and the end-of-data work
// (DKIM keys, DMARC policy, the rest of the SPF wait) at spf_timeout_ms after the end of data.
// Every DNS failure is a temperror in the verdict, never a refusal.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string_view>

#include "dns/spf.hpp"
#include "services.hpp"
#include "smtpd/auth/verdict.hpp"
#include "smtpd/proto/actions.hpp"

namespace postern::smtp {

// One SPF check, shared by the coroutine that runs it and the transaction that awaits it.
// Touched only on the connection's executor (one thread), so it needs no lock.
struct SpfCheck {
    SpfCheck(const boost::asio::any_io_executor& executor, StartSpf r)
        : wake(executor), request(std::move(r)) {}

    boost::asio::steady_timer wake;  // the waiter sleeps on it; cancelled when the result is in
    StartSpf request;
    std::chrono::steady_clock::time_point started, deadline;
    std::optional<dns::SpfResult> result;
};

// Starts the SPF check of `request` on `executor` (the connection's), or returns `previous` when
// it checks the same thing and is recent (a session sending many messages from one sender asks
// once). Requires services.checks().
std::shared_ptr<SpfCheck> start_spf(Services& services,
                                    const boost::asio::any_io_executor& executor, StartSpf request,
                                    std::shared_ptr<SpfCheck> previous);

// `previous` when start_spf would reuse it for `request`, else null (nothing is started).
std::shared_ptr<SpfCheck> reuse_spf(const StartSpf& request, std::shared_ptr<SpfCheck> previous);

// SPF checks a connection may start at MAIL FROM, before it has sent a message: a client cycling
// MAIL FROM / RSET through many sender domains must not make us run SPF (up to 10 DNS lookups
// each) for free. Beyond these, a transaction's check starts when its DATA is complete.
inline constexpr unsigned kMaxEarlySpfChecks = 10;

// At the end of data: the verdict on `message` (as received, before our header fields).
// `message` is a view into the caller's frame, which awaits this to the end. Throws
// operation_aborted when the session is cancelled meanwhile (the watchdog). Requires
// services.checks(); runs on the connection's executor (one thread).
boost::asio::awaitable<auth::Verdict> authenticate(Services& services,
                                                   std::shared_ptr<SpfCheck> spf,
                                                   std::string_view message);

}  // namespace postern::smtp
