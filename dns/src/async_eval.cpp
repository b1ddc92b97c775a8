// Coroutine forms of the resolver and of the evaluators over it.
#include "dns/async_eval.hpp"

#include <boost/asio/use_awaitable.hpp>

namespace postern::dns {
namespace asio = boost::asio;

namespace {

Resolver::Deadline deadline_after(std::chrono::milliseconds timeout) {
    return std::chrono::steady_clock::now() + timeout;
}

asio::awaitable<SpfResult> run_spf(Resolver& resolver, SpfEvaluation e,
                                   Resolver::Deadline deadline) {
    const SpfEvaluation done = co_await drive(resolver, std::move(e), deadline);
    co_return done.result();
}

}  // namespace

asio::awaitable<Answer> lookup(Resolver& resolver, Question q, Resolver::Deadline deadline) {
    if (auto hit = resolver.try_cached(q)) co_return std::move(*hit);
    co_return co_await async_lookup(resolver, std::move(q), deadline, asio::use_awaitable);
}

asio::awaitable<SpfResult> check_spf(Resolver& resolver, const SpfRequest& request,
                                     const SpfOptions& options, const EvalOptions& eval) {
    return run_spf(resolver, SpfEvaluation(request, options), deadline_after(eval.timeout));
}

asio::awaitable<DmarcEvaluation> discover_dmarc(Resolver& resolver, std::string_view from_domain,
                                                const EvalOptions& eval) {
    return drive(resolver, DmarcEvaluation(from_domain), deadline_after(eval.timeout));
}

}  // namespace postern::dns
