#pragma once
// CPU-bound work that would hold an io thread, and with it every session on that thread, runs on
// the services' CPU pool when there is one (DESIGN.md §5): DKIM verification (auth_check.cpp)
// and the MIME summary of a large message.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <string_view>
#include <utility>

#include "common/mime.hpp"
#include "common/result.hpp"
#include "services.hpp"

namespace postern::smtp {

// Runs `job` on services.cpu_pool when there is one, else in the calling coroutine; either way
// the caller resumes on its own executor. Whatever `job` reads must outlive it.
template <class T>
boost::asio::awaitable<T> on_cpu_pool(Services& services, boost::asio::awaitable<T> job) {
    if (services.cpu_pool == nullptr) {
        T result = co_await std::move(job);
        co_return result;
    }
    // Named awaitables, not temporaries in the co_await (see ingest.cpp on g++ 12).
    auto running = boost::asio::co_spawn(services.cpu_pool->get_executor(), std::move(job),
                                         boost::asio::use_awaitable);
    T result = co_await std::move(running);
    co_return result;
}

// mime::summarize(raw) on services.cpu_pool when `raw` is large (64 KiB or more) and there is a
// pool, else on the calling thread; the coroutine resumes on its own executor. `raw` must stay
// alive and unchanged until then.
boost::asio::awaitable<Result<mime::Summary>> summarize_off_thread(Services& services,
                                                                   std::string_view raw);

}  // namespace postern::smtp
