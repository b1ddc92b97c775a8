#pragma once
// The sans-I/O evaluators (SPF, DMARC discovery, DKIM key lookups: anything with next() and
// answer()) run against the Resolver from coroutines, under one deadline for the whole
// evaluation. Includes Asio.
//
//     SpfResult r = co_await dns::check_spf(resolver, request);
//     DmarcEvaluation d = co_await dns::discover_dmarc(resolver, from_domain);
//     DkimVerification v = co_await dns::drive(resolver, DkimVerification(message), deadline);
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <string_view>
#include <utility>

#include "dns/asio_resolver.hpp"
#include "dns/dmarc.hpp"
#include "dns/spf.hpp"

namespace postern::dns {

struct EvalOptions {
    // For the whole evaluation, from the call. RFC 7208 §4.6.4 asks SPF verifiers to allow at
    // least 20 seconds. When it passes, the pending lookup and every later question are
    // answered temperror, which the evaluators turn into their own temperror result.
    std::chrono::milliseconds timeout{20000};
};

// Answers e's questions one at a time until it is done, and returns it. The evaluation is
// moved into the coroutine frame, so nothing the caller holds must stay alive.
template <class Evaluation>
boost::asio::awaitable<Evaluation> drive(Resolver& resolver, Evaluation e,
                                         Resolver::Deadline deadline) {
    while (const Question* q = e.next()) {
        // `q` points into `e`, which lives in this frame; lookup() copies the question.
        const Answer a = co_await lookup(resolver, *q, deadline);
        e.answer(a);
    }
    co_return e;
}

// check_host() for `request` (RFC 7208). Not a coroutine itself: the evaluation copies the
// request before this returns, so the strings it views may die after the call. Only
// options.default_explanation must stay valid until the awaitable completes.
boost::asio::awaitable<SpfResult> check_spf(Resolver& resolver, const SpfRequest& request,
                                            const SpfOptions& options = {},
                                            const EvalOptions& eval = {});

// DMARC policy discovery for the RFC5322.From domain (RFC 7489 §6.6.3); the returned
// evaluation is done(): call evaluate(auth, sample) on it.
boost::asio::awaitable<DmarcEvaluation> discover_dmarc(Resolver& resolver,
                                                       std::string_view from_domain,
                                                       const EvalOptions& eval = {});

}  // namespace postern::dns
