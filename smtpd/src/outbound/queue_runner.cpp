// The queue runner: a claim loop and one coroutine per group (one message, one domain).
#include "smtpd/queue_runner.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <unordered_map>
#include <unordered_set>

#include "common/address.hpp"
#include "common/dsn.hpp"
#include "common/mime.hpp"
#include "common/time.hpp"
#include "destinations.hpp"
#include "dns/dkim_sign.hpp"
#include "smtp_client.hpp"
#include "storage/async_writer.hpp"
#include "storage/queue.hpp"
#include "storage/repos.hpp"

namespace postern::smtp::outbound {
namespace {

namespace asio = boost::asio;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kMaxClaim = 500;            // due rows looked at per claim
constexpr std::size_t kMaxRecipientsPerTx = 100;  // RFC 5321 §4.5.3.1.8: servers take 100

void log_failure(std::exception_ptr e) {
    if (!e) return;
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& ex) {
        spdlog::error("outbound: {}", ex.what());
    }
}

}  // namespace

struct QueueRunner::Impl {
    Impl(asio::io_context& i, const Config& c, storage::Writer& w, dns::Resolver& r,
         asio::thread_pool& p)
        : io(i), config(c), writer(w), resolver(r), pool(p), wake(i) {
        tls.set_verify_mode(asio::ssl::verify_none);  // opportunistic: encrypt, do not verify
        const auto& o = config.outbound;
        // An attempt is bounded by its timeouts: connect, greeting, EHLO, STARTTLS, EHLO, MAIL..
        // DATA, the final reply. A runner that dies mid-attempt frees its rows after this.
        lease_ms =
            std::int64_t{o.connect_timeout_ms} * 2 + std::int64_t{o.command_timeout_ms} * 4 + 5000;
    }

    asio::io_context& io;
    const Config config;
    storage::Writer& writer;
    dns::Resolver& resolver;
    asio::thread_pool& pool;
    asio::ssl::context tls{asio::ssl::context::tls_client};
    asio::steady_timer wake;
    std::int64_t lease_ms = 0;

    // Touched only on the io_context's thread.
    struct Idle {
        std::shared_ptr<Session> session;
        std::shared_ptr<asio::steady_timer> timer;  // fires when it has waited long enough
    };
    std::unordered_map<std::string, std::vector<Idle>> idle;  // by connection_key()
    std::size_t idle_count = 0;
    std::size_t closing = 0;  // connections saying QUIT
    bool draining = false;
    bool claiming = true;  // the claim loop runs (it may have a claim in the writer)
    std::function<void()> drained;
    std::size_t in_flight = 0;  // transactions (groups) claimed and not yet recorded
    std::unordered_set<std::string> active_ids;
    std::unordered_map<std::string, unsigned> per_destination;

    std::atomic<std::uint64_t> attempts{0}, delivered{0}, deferred{0}, bounced{0};

    void finished(const std::vector<std::string>& ids) {
        const bool was_full = in_flight >= config.outbound.max_concurrent;
        --in_flight;
        for (const auto& id : ids) active_ids.erase(id);
        if (was_full) wake.cancel();
        maybe_drained();
    }

    // Drained: no claim in progress (its rows would otherwise stay leased), no attempt, no
    // connection left open.
    void maybe_drained() {
        if (draining && !claiming && in_flight == 0 && idle_count == 0 && closing == 0 && drained) {
            auto done = std::move(drained);
            drained = nullptr;
            done();
        }
    }
};

namespace {

using Impl = QueueRunner::Impl;
constexpr auto kMaxConnectionAge = std::chrono::seconds(300);

// Connections are shared by server: the name used for SNI and the address.
std::string connection_key(const std::string& host, const asio::ip::tcp::endpoint& ep) {
    return host + " " + ep.address().to_string() + " " + std::to_string(ep.port());
}

// Says QUIT on `s` (or just closes it when it is not usable) without holding up the caller.
// At most max_concurrent connections say QUIT at once; beyond that they are closed at once, so
// that a server slow to answer QUIT cannot pile up open sockets.
void close_later(const std::shared_ptr<Impl>& impl, std::shared_ptr<Session> s) {
    if (impl->closing >= impl->config.outbound.max_concurrent) {
        close_now(*s);
        return;
    }
    ++impl->closing;
    asio::co_spawn(
        impl->io,
        [](std::shared_ptr<Impl> impl, std::shared_ptr<Session> s) -> asio::awaitable<void> {
            struct Closed {  // whatever happens below, drain must learn of it
                Impl& impl;
                ~Closed() {
                    --impl.closing;
                    impl.maybe_drained();
                }
            } closed{*impl};
            auto quitting = quit(s);
            co_await std::move(quitting);
        }(impl, std::move(s)),
        log_failure);
}

bool too_old(const Session& s) {
    return std::chrono::steady_clock::now() - opened_at(s) >= kMaxConnectionAge;
}

// A cached connection for `key` that still looks open, or null.
std::shared_ptr<Session> take_idle(Impl& impl, const std::string& key) {
    auto it = impl.idle.find(key);
    while (it != impl.idle.end() && !it->second.empty()) {
        Impl::Idle i = std::move(it->second.back());
        it->second.pop_back();
        --impl.idle_count;
        if (it->second.empty()) {
            impl.idle.erase(it);
            it = impl.idle.end();
        }
        i.timer->cancel();  // its waiter finds it gone and leaves it to us
        if (reusable(*i.session) && !too_old(*i.session)) return i.session;
        close_now(*i.session);
    }
    return nullptr;
}

// Waits until `s` has been idle long enough (or the runner drains), then, if nobody took it
// meanwhile, says QUIT.
asio::awaitable<void> expire_idle(std::shared_ptr<Impl> impl, std::string key,
                                  std::shared_ptr<Session> s,
                                  std::shared_ptr<asio::steady_timer> timer) {
    co_await timer->async_wait(kTuple);
    auto it = impl->idle.find(key);
    if (it == impl->idle.end()) co_return;
    auto& list = it->second;
    auto pos =
        std::find_if(list.begin(), list.end(), [&](const Impl::Idle& i) { return i.session == s; });
    if (pos == list.end()) co_return;
    list.erase(pos);
    if (list.empty()) impl->idle.erase(it);
    --impl->idle_count;
    close_later(impl, std::move(s));
}

// After a transaction: keep the connection for the next message to the same server, or close.
void release(const std::shared_ptr<Impl>& impl, const std::string& key,
             std::shared_ptr<Session> s) {
    const auto& o = impl->config.outbound;
    if (impl->draining || o.connection_cache_ms == 0 || !reusable(*s) ||
        transactions(*s) >= o.connection_reuse_limit || too_old(*s) ||
        impl->idle_count >= o.max_concurrent) {
        close_later(impl, std::move(s));
        return;
    }
    auto timer = std::make_shared<asio::steady_timer>(impl->io);
    timer->expires_after(std::chrono::milliseconds(o.connection_cache_ms));
    impl->idle[key].push_back({s, timer});
    ++impl->idle_count;
    asio::co_spawn(impl->io, expire_idle(impl, key, std::move(s), std::move(timer)), log_failure);
}

struct Prepared {
    std::string error;  // non-empty: could not prepare (deferred with this reason)
    std::string raw;    // as stored
    std::string wire;   // DKIM-Signature fields + raw
    std::vector<dns::DkimSigningKey> keys;
};

// `message` with the DKIM-Signature fields of `keys` before it.
Result<std::string> signed_message(const std::string& message,
                                   const std::vector<dns::DkimSigningKey>& keys) {
    if (keys.empty()) return message;
    auto sigs = dns::dkim_sign(message, keys);
    if (!sigs) return tl::unexpected(sigs.error());
    return std::move(*sigs) + message;
}

// On the pool, for a server without 8BITMIME: `raw` converted to 7 bits and signed (a signature
// does not survive a conversion made after it); nullopt when either cannot be done.
asio::awaitable<std::optional<std::string>> seven_bit_wire(
    const std::string& raw, const std::vector<dns::DkimSigningKey>& keys) {
    auto seven = mime::seven_bit(raw);
    if (!seven) co_return std::nullopt;
    auto wire = signed_message(*seven, keys);
    if (!wire) {
        spdlog::warn("outbound: cannot sign the 7-bit version: {}", wire.error().message());
        co_return std::nullopt;
    }
    spdlog::info("outbound: made a 7-bit version ({} octets) for a server without 8BITMIME",
                 wire->size());
    co_return std::move(*wire);
}

// On the pool: loads the message and signs it with the sending domain's keys. Each pool thread
// keeps its own read connection.
asio::awaitable<Prepared> prepare(std::string db_path, std::string sha, std::string from) {
    Prepared p;
    thread_local std::unique_ptr<storage::Database> db;
    if (!db) {
        storage::OpenOptions opts;
        opts.read_only = true;
        auto opened = storage::Database::open(db_path, opts);
        if (!opened) {
            p.error = "451 4.3.0 cannot open the database: " + opened.error().message();
            co_return p;
        }
        db = std::move(*opened);
    }
    auto raw = storage::load_blob(*db, sha);
    if (!raw) {
        p.error = "451 4.3.0 cannot read the message: " + raw.error().message();
        co_return p;
    }
    p.raw = std::move(*raw);
    auto& keys = p.keys;
    auto addr = parse_address(from);
    if (addr && !addr->domain.empty()) {
        auto domain = storage::find_domain(*db, addr->domain);
        if (domain && *domain) {
            auto rows = storage::list_dkim_keys(*db, (*domain)->id);
            if (rows)
                for (auto& k : *rows)
                    keys.push_back({(*domain)->name, k.selector, k.algorithm, k.private_pem});
        }
    }
    auto wire = signed_message(p.raw, keys);
    if (!wire) {
        p.error = "451 4.3.0 DKIM signing failed: " + wire.error().message();
        co_return p;
    }
    p.wire = std::move(*wire);
    co_return p;
}

storage::AttemptKind kind_of(const Reply& r) {
    if (r.code >= 200 && r.code < 300) return storage::AttemptKind::delivered;
    if (r.code >= 500 && r.code < 600) return storage::AttemptKind::bounced;
    return storage::AttemptKind::deferred;
}

// "451 4.4.1 text" for our own reasons, so that every stored reply reads like SMTP.
Reply local(int code, std::string text) { return Reply{code, std::move(text), true}; }

std::optional<std::string> make_dsn(const Impl& impl, bool delay,
                                    const std::vector<const storage::DeliveryRow*>& rows,
                                    const std::vector<Reply>& replies,
                                    const std::vector<std::string>& hosts, const std::string& raw,
                                    std::int64_t now) {
    if (rows.empty() || rows.front()->envelope_from.empty()) return std::nullopt;
    dsn::Request req;
    req.delay = delay;
    req.reporting_mta = impl.config.hostname;
    req.to = rows.front()->envelope_from;
    req.original = raw;
    req.arrival_ms = rows.front()->created_at;
    req.now_ms = now;
    req.retry_until_ms =
        rows.front()->created_at + std::int64_t{impl.config.outbound.max_lifetime_seconds} * 1000;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        dsn::Recipient rc;
        rc.recipient = rows[i]->recipient;
        rc.status = dsn::status_of(replies[i].text, delay ? '4' : '5');
        rc.remote_mta = hosts[i];
        rc.diagnostic = replies[i].text;
        rc.smtp_diagnostic = !replies[i].ours;
        rc.last_attempt_ms = now;
        req.recipients.push_back(std::move(rc));
    }
    auto built = dsn::build(req);
    if (!built) {
        spdlog::error("outbound: cannot build a DSN: {}", built.error().message());
        return std::nullopt;
    }
    return std::move(*built);
}

// Records the replies of one group in one writer job.
asio::awaitable<void> record(std::shared_ptr<Impl> impl, std::vector<storage::DeliveryRow> rows,
                             std::vector<Reply> replies, std::vector<std::string> hosts,
                             std::string raw) {
    const std::int64_t now = now_ms();
    std::vector<storage::OutcomeUpdate> updates;
    std::vector<const storage::DeliveryRow*> bounced_rows, delayed_rows;
    std::vector<Reply> bounced_replies, delayed_replies;
    std::vector<std::string> bounced_hosts, delayed_hosts;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        storage::OutcomeUpdate u;
        u.delivery_id = rows[i].id;
        u.decision =
            storage::decide_retry(rows[i], kind_of(replies[i]), impl->config.outbound, now);
        u.reply = replies[i].text;
        if (u.decision.expired) {
            u.reply += " (gave up: the message was queued too long)";
            replies[i].text = u.reply;
        }
        u.host = hosts[i];
        if (u.decision.state == "bounced") {
            bounced_rows.push_back(&rows[i]);
            bounced_replies.push_back(replies[i]);
            bounced_hosts.push_back(hosts[i]);
            ++impl->bounced;
        } else if (u.decision.state == "deferred") {
            ++impl->deferred;
            if (u.decision.delay_dsn) {
                delayed_rows.push_back(&rows[i]);
                delayed_replies.push_back(replies[i]);
                delayed_hosts.push_back(hosts[i]);
            }
        } else {
            ++impl->delivered;
        }
        spdlog::info("outbound: {} to=<{}> {} host={} attempts={} reply=\"{}\"", rows[i].id,
                     rows[i].recipient, u.decision.state, hosts[i].empty() ? "-" : hosts[i],
                     rows[i].attempts + 1, u.reply);
        updates.push_back(std::move(u));
    }
    auto bounce_dsn =
        make_dsn(*impl, false, bounced_rows, bounced_replies, bounced_hosts, raw, now);
    auto delay_dsn = make_dsn(*impl, true, delayed_rows, delayed_replies, delayed_hosts, raw, now);
    storage::Writer::Job job = [updates = std::move(updates), now,
                                bounce_dsn = std::move(bounce_dsn),
                                delay_dsn = std::move(delay_dsn)](storage::Database& db) {
        return storage::record_outcomes(db, updates, now, bounce_dsn, delay_dsn);
    };
    Result<void> stored = co_await storage::async_submit(impl->writer, job, asio::use_awaitable);
    if (!stored)
        // The rows stay leased and are tried again when the lease runs out (see the duplicate
        // window in docs/outbound.md).
        spdlog::error("outbound: cannot record outcomes: {}", stored.error().message());
}

// One SMTP transaction for rows sharing a message and a domain.
asio::awaitable<void> deliver_group(std::shared_ptr<Impl> impl,
                                    std::vector<storage::DeliveryRow> rows) {
    struct Done {  // releases the rows whatever happens below
        Impl& impl;
        std::vector<std::string> ids;
        ~Done() { impl.finished(ids); }
    } done{*impl, {}};
    for (const auto& r : rows) done.ids.push_back(r.id);
    const auto& o = impl->config.outbound;
    const std::string domain = rows.front().domain;

    // Per-destination concurrency (a route's target, else the recipient domain): wait for a
    // slot.
    const std::string destination = destination_key(o, domain);
    asio::steady_timer slot_wait(impl->io);
    while (impl->per_destination[destination] >= o.max_per_destination) {
        slot_wait.expires_after(std::chrono::milliseconds(5));
        co_await slot_wait.async_wait(kTuple);
    }
    ++impl->per_destination[destination];
    struct Slot {
        Impl& impl;
        std::string key;
        ~Slot() {
            if (--impl.per_destination[key] == 0) impl.per_destination.erase(key);
        }
    } slot{*impl, destination};

    const std::size_t n = rows.size();
    std::vector<Reply> replies(n);
    std::vector<std::string> hosts(n);

    auto preparing = asio::co_spawn(impl->pool,
                                    prepare(impl->config.database_path().string(),
                                            rows.front().blob_sha256, rows.front().envelope_from),
                                    asio::use_awaitable);
    Prepared p = co_await std::move(preparing);
    if (!p.error.empty()) {
        for (auto& r : replies) r = local(451, p.error);
        auto recording = record(impl, std::move(rows), std::move(replies), std::move(hosts), "");
        co_await std::move(recording);
        co_return;
    }

    auto finding = find_destination(impl->resolver, o, domain);
    Destination dest = co_await std::move(finding);
    if (dest.status != Destination::Status::ok) {
        for (auto& r : replies)
            r = local(dest.status == Destination::Status::permanent ? 550 : 451, dest.reply);
        auto recording = record(impl, std::move(rows), std::move(replies), std::move(hosts), p.raw);
        co_await std::move(recording);
        co_return;
    }

    Transaction tx;
    tx.mail_from = rows.front().envelope_from;
    for (const auto& r : rows) tx.recipients.push_back(r.recipient);
    tx.message = &p.wire;
    // Made once, and only if a server without 8BITMIME is reached (rare): the others take the
    // message as it is.
    std::optional<std::string> wire_7bit;
    bool converted = false;
    tx.message_7bit = [&]() -> asio::awaitable<const std::string*> {
        if (!converted) {
            converted = true;
            auto converting =
                asio::co_spawn(impl->pool, seven_bit_wire(p.raw, p.keys), asio::use_awaitable);
            wire_7bit = co_await std::move(converting);
        }
        co_return wire_7bit ? &*wire_7bit : nullptr;
    };
    ClientOptions copts;
    copts.helo_name = impl->config.hostname;
    copts.connect_timeout = std::chrono::milliseconds(o.connect_timeout_ms);
    copts.command_timeout = std::chrono::milliseconds(o.command_timeout_ms);
    copts.tls = o.opportunistic_tls ? &impl->tls : nullptr;

    Reply last_failure = local(451, "451 4.4.1 no host for " + domain + " could be reached");
    bool reached = false;
    std::string reached_host;
    TransactionResult result;
    for (const auto& hop : dest.hops) {
        std::string why;
        auto resolving = hop_endpoints(impl->resolver, hop, &why);
        auto endpoints = co_await std::move(resolving);
        if (endpoints.empty()) {
            last_failure = local(451, "451 4.4.4 " + why);
            continue;
        }
        for (const auto& ep : endpoints) {
            const std::string key = connection_key(hop.host, ep);
            bool done_here = false;
            // A cached connection to this server first; one found closed (nothing was sent to
            // any recipient on it) is dropped for the next, or a new one.
            while (auto cached = take_idle(*impl, key)) {
                ++impl->attempts;
                auto running = transact(cached, tx, copts);
                result = co_await std::move(running);
                if (result.stale) {
                    spdlog::info("outbound: {} closed a cached connection; using another", key);
                    close_later(impl, std::move(cached));
                    continue;
                }
                release(impl, key, std::move(cached));
                done_here = true;
                break;
            }
            if (!done_here) {
                ++impl->attempts;
                auto opening = open_session(ep, hop.host, copts);
                Opened opened = co_await std::move(opening);
                if (!opened.session && opened.failure.tls_failed) {
                    // Opportunistic TLS: a server whose TLS fails gets the mail in plain text
                    // (as Postfix does at smtp_tls_security_level = may), on a new connection.
                    ClientOptions plain = copts;
                    plain.tls = nullptr;
                    auto again = open_session(ep, hop.host, plain);
                    opened = co_await std::move(again);
                }
                if (opened.session) {
                    auto running = transact(opened.session, tx, copts);
                    result = co_await std::move(running);
                    release(impl, key, std::move(opened.session));
                } else {
                    result = std::move(opened.failure);
                }
            }
            const std::string where = hop.host + ":" + std::to_string(ep.port());
            if (result.reached) {
                reached = true;
                reached_host = where;
                break;
            }
            last_failure = result.failure.code != 0
                               ? result.failure
                               : local(451, "451 4.4.1 " + result.failure.text);
            spdlog::debug("outbound: {} unusable: {}", where, last_failure.text);
            hosts.assign(n, where);
        }
        if (reached) break;
    }
    if (reached) {
        for (std::size_t i = 0; i < n; ++i) {
            replies[i] = result.rcpt[i].code != 0 ? result.rcpt[i]
                                                  : local(451, "451 4.4.2 " + result.rcpt[i].text);
            hosts[i] = reached_host;
        }
    } else {
        // A 5xx greeting or EHLO from the last host bounces; anything else is tried again.
        for (auto& r : replies) r = last_failure;
    }
    auto recording = record(impl, std::move(rows), std::move(replies), std::move(hosts), p.raw);
    co_await std::move(recording);
}

// Claims due rows and starts their groups; sleeps poll_ms when nothing more is due.
asio::awaitable<void> claim_loop(std::shared_ptr<Impl> impl) {
    const auto& o = impl->config.outbound;
    while (!impl->draining) {
        const std::size_t room =
            o.max_concurrent > impl->in_flight ? o.max_concurrent - impl->in_flight : 0;
        std::size_t started = 0, claimed = 0;
        if (room > 0) {
            using Groups = std::vector<std::vector<storage::DeliveryRow>>;
            auto groups = std::make_shared<Groups>();
            const std::int64_t now = now_ms();
            const std::int64_t lease = impl->lease_ms;
            const storage::ClaimLimits limits{room, kMaxRecipientsPerTx, kMaxClaim};
            storage::Writer::Job job = [groups, now, lease,
                                        limits](storage::Database& db) -> Result<void> {
                auto claimed_groups = storage::claim_due(db, now, lease, limits);
                if (!claimed_groups) return tl::unexpected(claimed_groups.error());
                *groups = std::move(*claimed_groups);
                return {};
            };
            Result<void> ok =
                co_await storage::async_submit(impl->writer, job, asio::use_awaitable);
            if (!ok) {
                spdlog::error("outbound: cannot claim deliveries: {}", ok.error().message());
            } else {
                bool skipped = false;
                for (auto& g : *groups) {
                    claimed += g.size();
                    // Rows already being tried here (a lease that ran out during a slow
                    // attempt) are left to that attempt.
                    std::erase_if(g, [&](const auto& r) { return impl->active_ids.count(r.id); });
                    if (g.empty()) {
                        skipped = true;  // its slot stays free; the claim leased its rows again
                        continue;
                    }
                    for (const auto& r : g) impl->active_ids.insert(r.id);
                    ++impl->in_flight;
                    ++started;
                    asio::co_spawn(impl->io, deliver_group(impl, std::move(g)), log_failure);
                }
                // More may be due right now: every free slot was filled, a slot went to rows
                // already in flight (the next claim passes them), or every row scanned was
                // taken (the scan was full).
                if (started == room || skipped || claimed == kMaxClaim) continue;
            }
        }
        if (impl->draining) break;
        impl->wake.expires_after(std::chrono::milliseconds(o.poll_ms));
        co_await impl->wake.async_wait(kTuple);
    }
    // Rows claimed by the last claim have been started: drain waits for them like the others.
    impl->claiming = false;
    impl->maybe_drained();
}

}  // namespace

QueueRunner::QueueRunner(asio::io_context& io, const Config& config, storage::Writer& writer,
                         dns::Resolver& resolver, asio::thread_pool& pool)
    : impl_(std::make_shared<Impl>(io, config, writer, resolver, pool)) {}

QueueRunner::~QueueRunner() = default;

void QueueRunner::start() { asio::co_spawn(impl_->io, claim_loop(impl_), log_failure); }

void QueueRunner::drain(std::function<void()> done) {
    asio::post(impl_->io, [impl = impl_, done = std::move(done)]() mutable {
        impl->draining = true;
        impl->wake.cancel();
        for (auto& [key, list] : impl->idle)  // their waiters say QUIT now
            for (auto& i : list) i.timer->cancel();
        impl->drained = std::move(done);
        impl->maybe_drained();
    });
}

RunnerStats QueueRunner::stats() const {
    RunnerStats s;
    s.attempts = impl_->attempts;
    s.delivered = impl_->delivered;
    s.deferred = impl_->deferred;
    s.bounced = impl_->bounced;
    return s;
}

}  // namespace postern::smtp::outbound
