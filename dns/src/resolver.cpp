// The lookup side of the resolver: name checks, the cache, callers waiting with their
// deadlines, and the de-duplication of questions in flight. Thread-safe through Impl::mu; the
// c-ares side is in resolver_channel.cpp.
#include <algorithm>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <utility>

#include "common/config.hpp"
#include "resolver_impl.hpp"

namespace postern::dns {

ResolverOptions resolver_options(const DnsConfig& config) {
    ResolverOptions o;
    o.servers = config.servers;
    o.timeout = std::chrono::milliseconds(config.timeout_ms);
    o.tries = config.tries;
    o.cache.max_entries = config.cache_max_entries;
    return o;
}

Resolver::Impl::Impl(asio::io_context& io_context, ResolverOptions o)
    : io(io_context),
      strand(asio::make_strand(io_context)),
      options(std::move(o)),
      timer(io_context),
      cache(options.cache) {}

Resolver::Impl::~Impl() = default;

void Resolver::Impl::deliver(Callback done, Answer answer) {
    asio::post(io, [done = std::move(done), answer = std::move(answer)]() mutable {
        done(std::move(answer));
    });
}

std::optional<Answer> Resolver::Impl::try_cached(const Question& q) {
    const auto now = CacheClock::now();
    std::lock_guard lock(mu);
    auto hit = cache.get(q, now);
    if (hit) {
        ++stats.lookups;
        ++stats.cache_hits;
    }
    return hit;
}

void Resolver::Impl::lookup(Question q, Deadline deadline, Callback done) {
    const auto name = query_name(q.name);
    if (!name) {
        {
            std::lock_guard lock(mu);
            ++stats.lookups;
        }
        Answer a;
        a.status = Status::permerror;  // not a name DNS can carry: no query
        deliver(std::move(done), std::move(a));
        return;
    }
    q.name.resize(name->size());  // without the trailing dot
    const auto now = CacheClock::now();
    std::string key = cache_key(q);

    std::unique_lock lock(mu);
    ++stats.lookups;
    if (auto hit = cache.get(q, now)) {
        ++stats.cache_hits;
        lock.unlock();
        deliver(std::move(done), std::move(*hit));
        return;
    }
    if (deadline <= now || closed) {
        ++stats.deadline_expired;
        lock.unlock();
        deliver(std::move(done), Answer{});  // temperror
        return;
    }
    auto [it, fresh] = pending.try_emplace(key);
    Waiter& w = it->second.waiters.emplace_back();
    w.id = ++next_waiter;
    w.done = std::move(done);
    if (deadline != Deadline::max()) {
        w.deadline = std::make_unique<asio::steady_timer>(io, deadline);
        w.deadline->async_wait([weak = weak_from_this(), key, id = w.id](auto ec) {
            if (ec) return;  // cancelled: the answer came first
            if (auto self = weak.lock()) self->expire(key, id);
        });
    }
    if (!fresh) {
        ++stats.coalesced;
        return;
    }
    lock.unlock();
    asio::dispatch(strand, [weak = weak_from_this(), key = std::move(key), q = std::move(q)] {
        if (auto self = weak.lock()) self->start(key, q);
    });
}

void Resolver::Impl::expire(const std::string& key, std::uint64_t id) {
    Callback done;
    {
        std::lock_guard lock(mu);
        const auto it = pending.find(key);
        if (it == pending.end()) return;
        auto& waiters = it->second.waiters;
        const auto w = std::find_if(waiters.begin(), waiters.end(),
                                    [id](const Waiter& x) { return x.id == id; });
        if (w == waiters.end()) return;
        done = std::move(w->done);
        // Destroying the timer from its own handler is fine: the wait has completed.
        waiters.erase(w);
        ++stats.deadline_expired;
    }
    deliver(std::move(done), Answer{});  // temperror
}

void Resolver::Impl::complete(const std::string& key, const Question& question, Answer answer) {
    std::vector<Waiter> waiters;
    {
        std::lock_guard lock(mu);
        cache.put(question, answer, CacheClock::now());
        if (const auto it = pending.find(key); it != pending.end()) {
            waiters = std::move(it->second.waiters);
            pending.erase(it);
        }
    }
    for (Waiter& w : waiters) {
        if (w.deadline) w.deadline->cancel();
        deliver(std::move(w.done), answer);
    }
}

void Resolver::Impl::shutdown() {
    {
        std::lock_guard lock(mu);
        closed = true;
    }
    close_channel();  // queries in c-ares complete with temperror through complete()
    // Lookups whose start() had not run yet.
    std::unordered_map<std::string, Pending> rest;
    {
        std::lock_guard lock(mu);
        rest.swap(pending);
    }
    for (auto& [key, p] : rest)
        for (Waiter& w : p.waiters) {
            if (w.deadline) w.deadline->cancel();
            deliver(std::move(w.done), Answer{});
        }
}

Resolver::Resolver(asio::io_context& io, ResolverOptions options)
    : impl_(std::make_shared<Impl>(io, std::move(options))) {
    impl_->open_channel();
}

Resolver::~Resolver() { impl_->shutdown(); }

void Resolver::lookup(Question q, Callback done) {
    impl_->lookup(std::move(q), Deadline::max(), std::move(done));
}

void Resolver::lookup(Question q, Deadline deadline, Callback done) {
    impl_->lookup(std::move(q), deadline, std::move(done));
}

std::optional<Answer> Resolver::try_cached(const Question& q) { return impl_->try_cached(q); }

ResolverStats Resolver::stats() const {
    std::lock_guard lock(impl_->mu);
    ResolverStats s = impl_->stats;
    s.cache_entries = impl_->cache.size();
    return s;
}

asio::io_context& Resolver::context() const { return impl_->io; }

}  // namespace postern::dns
