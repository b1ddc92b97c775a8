#include "ingest.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/use_awaitable.hpp>
#include <memory>

#include "common/ids.hpp"
#include "common/mime.hpp"
#include "common/time.hpp"
#include "smtpd/proto/received.hpp"
#include "storage/repos.hpp"
#include "storage/writer.hpp"
#include "writer_bridge.hpp"

namespace postern::smtp {

namespace asio = boost::asio;

asio::awaitable<StoreOutcome> ingest(StoreMessage message, storage::Writer& writer) {
    const std::int64_t now = now_ms();
    std::string id = new_id("smtp");

    // Shared between this frame and the writer's job (Writer::Job must be copyable). The body
    // is moved, never copied; the header goes in front, in place when capacity allows.
    auto inbound = std::make_shared<storage::InboundMessage>();
    inbound->raw = std::move(message.body);
    inbound->raw.insert(0, format_received(message.received, id, rfc5322_date(now)));
    inbound->envelope_from = std::move(message.reverse_path);
    inbound->received_at = now;
    inbound->recipients.reserve(message.recipients.size());
    for (auto& r : message.recipients)
        inbound->recipients.push_back(storage::Recipient{
            std::move(r.mailbox_id), std::move(r.tenant_id), std::move(r.address)});
    // Parse before the transaction (STYLE §5): the writer thread only runs SQL.
    if (auto summary = mime::summarize(inbound->raw)) {
        inbound->summary = std::move(*summary);
    } else {
        // Keep the mail: a message we cannot summarise is still the recipient's.
        spdlog::debug("smtpd: {}: no summary: {}", id, summary.error().message());
    }

    // Named, not a temporary: g++ 12 destroys non-trivial temporaries of a co_await
    // full-expression twice (the lambda's shared_ptr copy would be released twice).
    storage::Writer::Job job = [inbound](storage::Database& db) -> Result<void> {
        auto ids = storage::store_inbound(db, *inbound);
        if (!ids) return tl::unexpected(ids.error());
        return {};
    };
    Result<void> stored = co_await async_submit(writer, job, asio::use_awaitable);
    if (!stored) {
        spdlog::error("smtpd: {}: not stored: {}", id, stored.error().message());
        co_return StoreOutcome{false, std::move(id)};
    }
    spdlog::debug("smtpd: {}: stored {} octets for {} recipient(s)", id, inbound->raw.size(),
                  inbound->recipients.size());
    co_return StoreOutcome{true, std::move(id)};
}

}  // namespace postern::smtp
