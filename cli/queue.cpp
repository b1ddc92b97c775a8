#include "queue.hpp"

#include <fmt/format.h>

#include <iostream>
#include <iterator>
#include <stdexcept>

#include "common/address.hpp"
#include "common/ascii.hpp"
#include "common/header_fields.hpp"
#include "common/ids.hpp"
#include "common/mime.hpp"
#include "common/time.hpp"
#include "storage/outbound.hpp"
#include "storage/queue.hpp"
#include "storage/repos.hpp"

namespace postern::cli {
namespace {

template <class T>
T must(Result<T> r) {
    if (!r) throw std::runtime_error(r.error().message());
    if constexpr (!std::is_void_v<T>) return std::move(*r);
}

std::string when(const std::optional<std::int64_t>& ms) { return ms ? rfc3339(*ms) : "-"; }

}  // namespace

void queue_list(storage::Database& db, const storage::Tenant& tenant, bool all, std::size_t limit) {
    storage::QueueFilter filter;
    filter.include_final = all;
    filter.limit = limit;
    auto rows = must(storage::list_queue(db, tenant.id, filter));
    for (const auto& r : rows)
        std::cout << fmt::format("{}  {:<9}  {}  attempts={}  next={}  {}\n", r.id, r.state,
                                 r.recipient, r.attempts, when(r.next_attempt_at),
                                 r.last_reply.value_or(""));
    std::cerr << rows.size() << " deliver" << (rows.size() == 1 ? "y" : "ies")
              << (all ? "" : " pending") << "\n";
}

void queue_show(storage::Database& db, const storage::Tenant& tenant, const std::string& id) {
    auto row = must(storage::find_delivery(db, tenant.id, id));
    if (!row) throw std::runtime_error("no delivery " + id);
    const auto& r = *row;
    std::cout << "id:              " << r.id << "\n"
              << "state:           " << r.state << "\n"
              << "message:         " << r.message_id << "\n"
              << "mailbox:         " << r.mailbox_id << "\n"
              << "from:            " << r.envelope_from << "\n"
              << "recipient:       " << r.recipient << "\n"
              << "attempts:        " << r.attempts << "\n"
              << "created:         " << rfc3339(r.created_at) << "\n"
              << "updated:         " << rfc3339(r.updated_at) << "\n"
              << "next attempt:    " << when(r.next_attempt_at) << "\n"
              << "last attempt:    " << when(r.last_attempt_at) << "\n"
              << "leased until:    " << when(r.lease_until) << "\n"
              << "last host:       " << r.last_host.value_or("-") << "\n"
              << "last reply:      " << r.last_reply.value_or("-") << "\n"
              << "delay notified:  " << (r.delay_notified ? "yes" : "no") << "\n"
              << "dsn:             " << r.dsn_message_id.value_or("-") << "\n";
}

void queue_retry(storage::Database& db, const storage::Tenant& tenant, const std::string& id) {
    auto tx = must(storage::Transaction::begin(db));
    must(storage::retry_now(db, tenant.id, id, now_ms()));
    must(storage::append_audit(db, tenant.id, "cli", "delivery.retry", id));
    must(tx.commit());
    std::cerr << "Delivery " << id << " is due now.\n";
}

void queue_delete(storage::Database& db, const storage::Tenant& tenant, const std::string& id) {
    auto tx = must(storage::Transaction::begin(db));
    must(storage::cancel_delivery(db, tenant.id, id, now_ms()));
    must(storage::append_audit(db, tenant.id, "cli", "delivery.cancel", id));
    must(tx.commit());
    std::cerr << "Delivery " << id << " cancelled.\n";
}

void send(const Config& config, storage::Database& db, const storage::Tenant& tenant,
          const std::string& from, const std::vector<std::string>& to, std::istream& in) {
    const auto limit = config.outbound.max_message_bytes;
    std::string input;
    char chunk[65536];
    while (in.read(chunk, sizeof chunk) || in.gcount() > 0) {
        input.append(chunk, static_cast<std::size_t>(in.gcount()));
        if (input.size() > limit)
            throw std::runtime_error(fmt::format(
                "the message is larger than [outbound] max_message_bytes ({} bytes)", limit));
    }
    auto mailbox = must(storage::find_mailbox(db, tenant.id, from));
    if (!mailbox) throw std::runtime_error("no mailbox " + from);
    if (config.outbound.require_verified_domain) {
        auto domain = must(storage::find_tenant_domain(db, tenant.id, mailbox->domain_id));
        if (!domain || !domain->can_send())
            throw std::runtime_error(
                "the domain of " + mailbox->address +
                " is not verified for sending: run `postern domain check`, or set "
                "[outbound] require_verified_domain = false");
    }

    if (input.find('\0') != std::string::npos)
        throw std::runtime_error("the message contains a NUL byte, which mail cannot carry");
    // SMTP's line end, and what DKIM signs: LF, lone CR and CR…CR LF become CRLF.
    std::string raw = mime::crlf_lines(input);
    if (raw.empty() || raw.starts_with("\r\n"))
        throw std::runtime_error("the message on standard input has no header fields");
    if (std::size_t line = mime::first_malformed_header_line(raw))
        throw std::runtime_error(fmt::format(
            "line {} of the message is not a header field (Name: value): a message starts with "
            "its header fields, then an empty line, then the body",
            line));
    std::string headers, body;
    if (std::size_t sep = raw.find("\r\n\r\n"); sep != std::string::npos) {
        headers = raw.substr(0, sep + 2);
        body = raw.substr(sep + 2);  // the blank line and the body
    } else {                         // a header section only
        headers = raw.empty() || raw.ends_with("\r\n") ? raw : raw + "\r\n";
        body = "\r\n";
    }

    // Recipients and Bcc removal, as `sendmail -t` does.
    std::vector<std::string> recipients = to;
    bool has_from = false, has_date = false, has_mid = false;
    mime::for_each_header_field(headers, [&](const mime::HeaderField& f) {
        if (to.empty() && (iequals_ascii(f.name, "Bcc") || iequals_ascii(f.name, "To") ||
                           iequals_ascii(f.name, "Cc")))
            for (auto& a : mime::addresses_in(f.value)) recipients.push_back(std::move(a));
        has_from = has_from || iequals_ascii(f.name, "From");
        has_date = has_date || iequals_ascii(f.name, "Date");
        has_mid = has_mid || iequals_ascii(f.name, "Message-ID");
    });
    const std::string kept = mime::without_fields(headers, {"Bcc"});
    if (recipients.empty())
        throw std::runtime_error("no recipients: give --to, or To/Cc/Bcc headers");
    const std::int64_t now = now_ms();
    auto at = mailbox->address.find('@');
    const std::string domain =
        at == std::string::npos ? config.hostname : mailbox->address.substr(at + 1);
    std::string added;
    if (!has_from) added += "From: " + mailbox->address + "\r\n";
    if (!has_date) added += "Date: " + rfc5322_date(now) + "\r\n";
    if (!has_mid) added += "Message-ID: <" + new_id("m") + "@" + domain + ">\r\n";
    raw = kept + added + body;

    auto summary = must(mime::summarize(raw));
    storage::OutboundMessage m;
    m.tenant_id = tenant.id;
    m.mailbox_id = mailbox->id;
    m.raw = std::move(raw);
    m.envelope_from = mailbox->address;
    m.recipients = std::move(recipients);
    m.summary = std::move(summary);
    m.created_at = now;
    m.source = "cli";
    auto tx = must(storage::Transaction::begin(db));
    auto queued = must(storage::enqueue_outbound(db, m));
    must(storage::append_audit(db, tenant.id, "cli", "message.send", queued.message_id));
    must(tx.commit());
    std::cout << queued.message_id << "\n";
    for (const auto& d : queued.deliveries)
        std::cerr << "queued " << d.id << " to " << d.recipient << "\n";
}

}  // namespace postern::cli
