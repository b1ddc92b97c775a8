#pragma once
// Bridges storage::Writer (a plain thread with callbacks) to Asio completion tokens, so that a
// coroutine can `co_await async_submit(writer, job, asio::use_awaitable)` (postern-smtpd's
// sessions and queue runner, postern-apid's deferred writes). Include it only where it is used:
// it brings in Asio.
//
// The writer calls its completion on the writer thread after the group commit; we post the
// result back to the handler's associated executor (the session's strand), never resuming the
// coroutine on the writer thread. A work guard keeps that executor's io_context from running
// out of work while the job is queued. The operation cannot be cancelled: once submitted, a job
// is committed or fails, and the session learns which.
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <memory>
#include <type_traits>
#include <utility>

#include "common/result.hpp"
#include "storage/writer.hpp"

namespace postern::storage {

// `job` is moved from. It is taken by reference so that a coroutine calling this creates no
// temporary with a destructor inside its co_await expression (see smtpd/src/ingest.cpp).
template <class CompletionToken>
auto async_submit(storage::Writer& writer, storage::Writer::Job& job, CompletionToken&& token) {
    namespace asio = boost::asio;
    return asio::async_initiate<CompletionToken, void(Result<void>)>(
        [&writer](auto handler, storage::Writer::Job job) {
            using Handler = std::decay_t<decltype(handler)>;
            using Executor = asio::associated_executor_t<Handler>;
            struct State {
                Handler handler;
                asio::executor_work_guard<Executor> work;
            };
            auto ex = asio::get_associated_executor(handler);
            // Writer::Completion is a std::function (copyable); the handler is move-only, so
            // it lives in shared state that the completion copies.
            auto state =
                std::make_shared<State>(State{std::move(handler), asio::make_work_guard(ex)});
            writer.submit(std::move(job), [state](Result<void> result) {
                Executor target = state->work.get_executor();
                asio::post(target, [state, result = std::move(result)]() mutable {
                    Handler handler = std::move(state->handler);
                    state->work.reset();
                    std::move(handler)(std::move(result));
                });
            });
        },
        token, std::move(job));
}

}  // namespace postern::storage
