#include "offload.hpp"

namespace postern::smtp {

namespace asio = boost::asio;

namespace {

// Below this size the hop to the pool and back costs more than it saves. With every summary of
// 4 KiB smtp-source messages on the pool, postern-smtpd spent 368 µs of CPU per message against
// 342 inline (9 interleaved runs, docs/performance.md round 13): the summary takes ~18 µs, the
// two cross-thread wake-ups more. The summary of a message with an attachment takes ~40 µs at
// 64 KiB, ~300 µs at 1 MiB and grows with the size (GMime reads every part's bytes), time in
// which the io thread would serve no other session.
constexpr std::size_t kOffloadBytes = 64 * 1024;

asio::awaitable<Result<mime::Summary>> summarize_job(std::string_view raw) {
    co_return mime::summarize(raw);
}

}  // namespace

asio::awaitable<Result<mime::Summary>> summarize_off_thread(Services& services,
                                                            std::string_view raw) {
    if (raw.size() < kOffloadBytes) co_return mime::summarize(raw);
    auto job = summarize_job(raw);
    auto summarizing = on_cpu_pool(services, std::move(job));
    Result<mime::Summary> summary = co_await std::move(summarizing);
    co_return summary;
}

}  // namespace postern::smtp
