#include "ingest.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/use_awaitable.hpp>
#include <memory>

#include "common/ascii.hpp"
#include "common/header_fields.hpp"
#include "common/ids.hpp"
#include "common/mime.hpp"
#include "common/time.hpp"
#include "offload.hpp"
#include "smtpd/auth/header_fields.hpp"
#include "smtpd/proto/received.hpp"
#include "storage/async_writer.hpp"
#include "storage/repos.hpp"
#include "storage/writer.hpp"

namespace postern::smtp {

namespace asio = boost::asio;

asio::awaitable<StoreOutcome> ingest(StoreMessage message, Services& services,
                                     std::shared_ptr<SpfCheck> spf,
                                     asio::any_io_executor executor) {
    const std::int64_t now = now_ms();
    std::string id = new_id("smtp");
    const AuthConfig& config = services.config.auth;
    const std::string& authserv_id = config.authserv(services.config.hostname);

    auth::Verdict verdict;
    if (services.checks()) {
        if (!spf)
            spf = start_spf(services, executor,
                            StartSpf{message.received.client_ip, message.reverse_path,
                                     message.received.helo, message.received.hostname},
                            nullptr);
        // message.body lives in this frame, which waits here until the checks are done.
        auto checking = authenticate(services, std::move(spf), message.body);
        auth::Verdict checked = co_await std::move(checking);  // initialised: see auth_check.cpp
        verdict = std::move(checked);
        if (verdict.disposition == auth::Disposition::reject) {
            spdlog::info("smtpd: {}: refused: {} (from {}, MAIL FROM <{}>)", id, verdict.reason,
                         message.received.client_ip, message.reverse_path);
            co_return StoreOutcome{false, std::move(id), std::move(verdict.reason)};
        }
    }

    if (!message.smtputf8) {
        // 7-bit mail keeps ASCII headers: Received and Authentication-Results (smtp.helo) name a
        // UTF-8 HELO by its A-label. The checks above used the name as given.
        message.received.helo = ascii_helo(message.received.helo, message.received.client_ip);
        if (!is_ascii(verdict.helo)) verdict.helo = message.received.helo;
    }

    // Shared between this frame and the writer's job (Writer::Job must be copyable). The body
    // is moved, never copied; the header fields go in front, in place when capacity allows.
    auto inbound = std::make_shared<storage::InboundMessage>();
    inbound->raw = std::move(message.body);
    // RFC 8601 §5: results claiming to be ours did not come from us. Removed after DKIM has
    // verified the message as it arrived.
    if (std::size_t forged = auth::remove_forged_results(inbound->raw, authserv_id))
        spdlog::info("smtpd: {}: removed {} forged Authentication-Results field(s)", id, forged);
    // RFC 5321 §4.4: final delivery records the envelope sender in Return-Path, the first
    // field; one the message brought is not ours to keep.
    mime::erase_fields_if(inbound->raw, [](const mime::HeaderField& f) {
        return iequals_ascii(f.name, "Return-Path");
    });
    std::string trace = "Return-Path: <" + message.reverse_path + ">\r\n" +
                        format_received(message.received, id, rfc5322_date(now));
    if (config.add_authentication_results)
        trace += auth::format_authentication_results(authserv_id, verdict);
    inbound->raw.insert(0, trace);
    if (verdict.disposition == auth::Disposition::junk) inbound->flags.push_back("junk");
    inbound->auth_json = auth::auth_json(verdict);
    inbound->envelope_from = std::move(message.reverse_path);
    inbound->received_at = now;
    inbound->recipients.reserve(message.recipients.size());
    for (auto& r : message.recipients)
        inbound->recipients.push_back(storage::Recipient{
            std::move(r.mailbox_id), std::move(r.tenant_id), std::move(r.address)});
    // Parse before the transaction (STYLE §5): the writer thread only runs SQL. A large message on
    // the CPU pool: the io thread goes on serving the other sessions meanwhile.
    auto summarizing = summarize_off_thread(services, inbound->raw);
    Result<mime::Summary> summary = co_await std::move(summarizing);
    if (summary) {
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
    Result<void> stored = co_await storage::async_submit(services.writer, job, asio::use_awaitable);
    if (!stored) {
        spdlog::error("smtpd: {}: not stored: {}", id, stored.error().message());
        co_return not_stored(std::move(id), stored.error());
    }
    spdlog::debug("smtpd: {}: stored {} octets for {} recipient(s)", id, inbound->raw.size(),
                  inbound->recipients.size());
    co_return StoreOutcome{true, std::move(id), {}};
}

}  // namespace postern::smtp
