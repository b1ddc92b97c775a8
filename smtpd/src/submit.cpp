#include "submit.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/use_awaitable.hpp>
#include <memory>
#include <optional>

#include "common/address.hpp"
#include "common/ascii.hpp"
#include "common/header_fields.hpp"
#include "common/ids.hpp"
#include "common/mime.hpp"
#include "common/time.hpp"
#include "offload.hpp"
#include "smtpd/proto/received.hpp"
#include "smtpd/submit_policy.hpp"
#include "storage/async_writer.hpp"
#include "storage/outbound.hpp"
#include "storage/writer.hpp"

namespace postern::smtp {

namespace asio = boost::asio;

namespace {

// The From header names exactly one mailbox, and it is the submitter's.
bool from_is_submitter(const mime::Summary& summary, const AuthIdentity& who) {
    if (summary.from.size() != 1) return false;
    auto address = parse_address(summary.from.front().address);
    return address && address->key() == who.key;
}

// Sender, Resent-From and Resent-Sender say who sent the message as much as From does (RFC 5322
// §3.6.2, §3.6.6), and mail clients show them ("on behalf of"): only the submitter. Returns the
// first field that names anyone else.
std::optional<std::string> foreign_originator(std::string_view raw, const AuthIdentity& who) {
    std::optional<std::string> foreign;
    mime::for_each_header_field(raw, [&](const mime::HeaderField& f) {
        if (foreign || !(iequals_ascii(f.name, "Sender") || iequals_ascii(f.name, "Resent-From") ||
                         iequals_ascii(f.name, "Resent-Sender")))
            return;
        auto names = mime::addresses_in(mime::unfold(f.value));
        bool own = !names.empty() && std::all_of(names.begin(), names.end(), [&](const auto& a) {
            auto address = parse_address(a);
            return address && address->key() == who.key;
        });
        if (!own) foreign = std::string(f.name);
    });
    return foreign;
}

}  // namespace

asio::awaitable<StoreOutcome> submit(StoreMessage message, Services& services) {
    const std::int64_t now = now_ms();
    std::string id = new_id("smtp");
    const AuthIdentity who = *message.submitter;

    // As Postfix's message_drop_headers: a Bcc field must not reach the recipients it hides
    // them from (the envelope already names them), Content-Length means nothing here, and
    // Return-Path is written by the final delivery (RFC 5321 §4.4).
    message.body =
        mime::without_fields(message.body, {"Bcc", "Resent-Bcc", "Content-Length", "Return-Path"});
    // A header section alone is a whole message (RFC 5322 §3.5: the body is optional); the
    // empty line that ends it is what DKIM signing and every reader look for.
    if (mime::header_section_end(message.body) == std::string::npos)
        message.body +=
            message.body.ends_with("\r\n") || message.body.empty() ? "\r\n" : "\r\n\r\n";

    // Shared between this frame and the writer's job (Writer::Job must be copyable).
    auto out = std::make_shared<storage::OutboundMessage>();
    std::string head = format_received(message.received, id, rfc5322_date(now));
    if (!has_header(message.body, "Date")) head += "Date: " + rfc5322_date(now) + "\r\n";
    if (!has_header(message.body, "Message-ID"))
        head += "Message-ID: <" + new_id("pm") + "@" + services.config.hostname + ">\r\n";
    out->raw = std::move(message.body);
    out->raw.insert(0, head);

    // Parsed before the transaction (STYLE §5): the writer thread only runs SQL. A large message on
    // the CPU pool, as for inbound mail (ingest.cpp).
    auto summarizing = summarize_off_thread(services, out->raw);
    Result<mime::Summary> summary = co_await std::move(summarizing);
    if (!summary || !from_is_submitter(*summary, who)) {
        spdlog::info("smtpd: {}: refused: From header is not <{}>", id, who.address);
        co_return StoreOutcome{
            false, std::move(id),
            "From header must be the authenticated mailbox <" + who.address + "> alone", 553};
    }
    if (auto field = foreign_originator(out->raw, who)) {
        spdlog::info("smtpd: {}: refused: {} header is not <{}>", id, *field, who.address);
        co_return StoreOutcome{
            false, std::move(id),
            *field + " header must be the authenticated mailbox <" + who.address + ">", 553};
    }
    out->summary = std::move(*summary);
    out->tenant_id = who.tenant_id;
    out->mailbox_id = who.mailbox_id;
    out->envelope_from = std::move(message.reverse_path);
    out->recipients.reserve(message.recipients.size());
    for (auto& r : message.recipients) out->recipients.push_back(std::move(r.address));
    out->created_at = now;
    out->source = "submission";

    auto queued = std::make_shared<std::string>();  // the Sent copy's id, set by the job
    // Named, not a temporary: see ingest.cpp.
    storage::Writer::Job job = [out, queued](storage::Database& db) -> Result<void> {
        auto enqueued = storage::enqueue_outbound(db, *out);
        if (!enqueued) return tl::unexpected(enqueued.error());
        *queued = std::move(enqueued->message_id);
        return {};
    };
    Result<void> stored = co_await storage::async_submit(services.writer, job, asio::use_awaitable);
    if (!stored) {
        spdlog::error("smtpd: {}: not queued: {}", id, stored.error().message());
        co_return not_stored(std::move(id), stored.error());
    }
    spdlog::info("smtpd: {}: queued {} from <{}> for {} recipient(s) as {}", id, out->raw.size(),
                 who.address, out->recipients.size(), *queued);
    co_return StoreOutcome{true, *queued, {}};
}

}  // namespace postern::smtp
