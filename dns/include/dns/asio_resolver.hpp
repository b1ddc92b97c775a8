#pragma once
// Asio forms of Resolver::lookup: a coroutine, and a completion-token initiator.
// Includes Asio; include it only where coroutines need it.
//
//     Answer a = co_await dns::lookup(resolver, {"example.com", Type::MX});
//     Answer a = co_await dns::lookup(resolver, q, steady_clock::now() + 5s);  // temperror then
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/prefer.hpp>
#include <memory>
#include <utility>

#include "dns/resolver.hpp"

namespace postern::dns {

// The answer to `q`. A cached answer returns without suspending; otherwise the coroutine
// resumes on its own executor. At `deadline` it gets temperror (the query goes on and fills
// the cache). `resolver` must outlive the call (it is a service: it outlives every session).
boost::asio::awaitable<Answer> lookup(Resolver& resolver, Question q,
                                      Resolver::Deadline deadline = Resolver::Deadline::max());

// Completion-token form, signature void(Answer). The handler runs on its associated executor
// (by default the resolver's io_context), never inside this call.
template <class CompletionToken>
auto async_lookup(Resolver& resolver, Question q, Resolver::Deadline deadline,
                  CompletionToken&& token) {
    auto initiation = [](auto handler, Resolver* r, Question q, Resolver::Deadline deadline) {
        using Handler = decltype(handler);
        // Resolver::Callback is a std::function, which must be copyable; handlers need not be.
        auto shared = std::make_shared<Handler>(std::move(handler));
        auto ex = boost::asio::prefer(
            boost::asio::get_associated_executor(*shared, r->context().get_executor()),
            boost::asio::execution::outstanding_work.tracked);
        r->lookup(std::move(q), deadline, [shared, ex](Answer a) {
            boost::asio::dispatch(
                ex, [shared, a = std::move(a)]() mutable { (*shared)(std::move(a)); });
        });
    };
    return boost::asio::async_initiate<CompletionToken, void(Answer)>(initiation, token, &resolver,
                                                                      std::move(q), deadline);
}

}  // namespace postern::dns
