#pragma once
// CPU-bound work that would hold an io thread, and with it every session on that thread, runs on
// the services' CPU pool when there is one (DESIGN.md §5): DKIM verification (auth_check.cpp)
// and the MIME summary of a large message.
#include <boost/asio/awaitable.hpp>
#include <string_view>

#include "common/mime.hpp"
#include "common/result.hpp"
#include "services.hpp"

namespace postern::smtp {

// mime::summarize(raw) on services.cpu_pool when `raw` is large (64 KiB or more) and there is a
// pool, else on the calling thread; the coroutine resumes on its own executor. `raw` must stay
// alive and unchanged until then.
boost::asio::awaitable<Result<mime::Summary>> summarize_off_thread(Services& services,
                                                                   std::string_view raw);

}  // namespace postern::smtp
