#pragma once
// Private to postern_api (server.cpp): awaits a storage::Writer job from a coroutine, the same
// idea as smtpd's bridge. The writer calls its completion on the writer thread after the group
// commit; the result is posted back to the awaiting handler's executor (the session's strand),
// so the coroutine never resumes on the writer thread. A work guard keeps that io_context from
// running out of work while the job waits in the queue. Not cancellable: once submitted, a job is
// committed or fails, and the session learns which.
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <memory>
#include <type_traits>
#include <utility>

#include "common/result.hpp"
#include "storage/writer.hpp"

namespace postern::api {

// `job` is moved from; taken by reference so that the awaiting coroutine holds no temporary
// with a destructor inside its co_await expression.
template <class CompletionToken>
auto async_write_job(storage::Writer& writer, storage::Writer::Job& job, CompletionToken&& token) {
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
            // Writer::Completion is a copyable std::function and the handler is move-only, so
            // the handler lives in shared state.
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

}  // namespace postern::api
