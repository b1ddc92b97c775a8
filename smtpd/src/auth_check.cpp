#include "auth_check.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>
#include <random>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "common/address.hpp"
#include "common/ascii.hpp"
#include "common/time.hpp"
#include "dns/async_eval.hpp"
#include "dns/dkim_verify.hpp"
#include "offload.hpp"
#include "smtpd/auth/header_fields.hpp"

namespace postern::smtp {
namespace {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using Clock = std::chrono::steady_clock;
using Deadline = dns::Resolver::Deadline;

// A check this recent is reused for the same sender in the same session.
constexpr auto kReuseFor = std::chrono::seconds(60);
// The waiter's timer allows this much after the SPF deadline, by which the resolver has
// answered the pending question temperror and the evaluation has ended.
constexpr auto kGrace = std::chrono::milliseconds(500);

std::chrono::milliseconds auth_timeout(const Services& s) {
    return std::chrono::milliseconds(s.config.auth.spf_timeout_ms);
}

bool same_request(const StartSpf& a, const StartSpf& b) {
    return a.client_ip == b.client_ip && a.sender == b.sender && a.helo == b.helo &&
           a.hostname == b.hostname;
}

// SPF looks names up in the DNS, which holds A-labels: a U-label domain (SMTPUTF8) is converted
// first (RFC 8616 §4); the local part stays as written. One that does not convert is left as it
// is, and fails the lookups as it would have.
std::string spf_domain_form(std::string_view name) {
    const auto at = name.rfind('@');
    const std::string_view domain = at == std::string_view::npos ? name : name.substr(at + 1);
    if (is_ascii(domain)) return std::string(name);
    auto alabel = normalize_domain(domain);
    if (!alabel) return std::string(name);
    return std::string(name.substr(0, name.size() - domain.size())) + *alabel;
}

asio::awaitable<void> run_spf(dns::Resolver& resolver, std::shared_ptr<SpfCheck> check,
                              std::chrono::milliseconds timeout) {
    dns::SpfResult result;
    if (auto ip = dns::IpAddress::parse(check->request.client_ip)) {
        const std::string sender = spf_domain_form(check->request.sender);
        const std::string helo = spf_domain_form(check->request.helo);
        // The views point into this frame; check_spf copies the request before it returns
        // anyway.
        dns::SpfRequest request{*ip, sender, helo, check->request.hostname, now_ms() / 1000};
        dns::EvalOptions eval{timeout};
        auto checking = dns::check_spf(resolver, request, {}, eval);
        dns::SpfResult checked = co_await std::move(checking);  // initialised, not assigned
        result = std::move(checked);
    } else {
        result.kind = dns::SpfKind::permerror;
        result.problem = "unreadable client address";
    }
    check->result = std::move(result);
    check->wake.cancel();  // the waiter, if any, looks again
}

struct SpfDone {
    void operator()(std::exception_ptr e) const {
        if (!e) return;
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& ex) {
            spdlog::warn("smtpd: SPF check failed: {}", ex.what());
        }
    }
};

void throw_if_cancelled(asio::cancellation_type cancelled) {
    if (cancelled != asio::cancellation_type::none)
        throw boost::system::system_error(asio::error::operation_aborted);
}

asio::awaitable<dns::SpfResult> await_spf(std::shared_ptr<SpfCheck> check) {
    if (!check->result) {
        check->wake.expires_at(check->deadline + kGrace);
        co_await check->wake.async_wait(asio::as_tuple(asio::use_awaitable));
        auto state = co_await asio::this_coro::cancellation_state;
        throw_if_cancelled(state.cancelled());
    }
    if (check->result) co_return *check->result;
    dns::SpfResult late;
    late.kind = dns::SpfKind::temperror;
    late.problem = "SPF check timed out";
    co_return late;
}

// Answers every question at once; the answers come in the order of `questions`. Completes on
// the handler's associated executor (the awaiting coroutine's), never inside this call.
template <class CompletionToken>
auto async_lookup_all(dns::Resolver& resolver, std::vector<dns::Question> questions,
                      Deadline deadline, CompletionToken&& token) {
    return asio::async_initiate<CompletionToken, void(std::vector<dns::Answer>)>(
        [&resolver](auto handler, std::vector<dns::Question> questions, Deadline deadline) {
            using Handler = std::decay_t<decltype(handler)>;
            using Executor = asio::associated_executor_t<Handler>;
            struct State {
                State(Handler h, const Executor& ex, std::size_t n)
                    : handler(std::move(h)), work(ex), answers(n), left(n) {}
                Handler handler;
                asio::executor_work_guard<Executor> work;
                std::vector<dns::Answer> answers;  // slot i is written by lookup i only
                std::atomic<std::size_t> left;
            };
            auto state = std::make_shared<State>(
                std::move(handler), asio::get_associated_executor(handler), questions.size());
            for (std::size_t i = 0; i < questions.size(); ++i) {
                resolver.lookup(std::move(questions[i]), deadline, [state, i](dns::Answer a) {
                    state->answers[i] = std::move(a);
                    if (state->left.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
                    Executor target = state->work.get_executor();
                    asio::post(target, [state]() mutable {
                        Handler h = std::move(state->handler);
                        std::vector<dns::Answer> answers = std::move(state->answers);
                        state->work.reset();
                        std::move(h)(std::move(answers));
                    });
                });
            }
        },
        token, std::move(questions), deadline);
}

// Hashes, fetches the keys (in parallel), verifies. Runs wherever it was spawned: the RSA or
// Ed25519 work happens in the constructor and in results(), on that executor's thread.
// `message` is only read by the constructor, before the first suspension; the caller keeps it
// alive until this completes in any case.
asio::awaitable<std::vector<dns::DkimResult>> dkim_job(dns::Resolver& resolver,
                                                       std::string_view message,
                                                       Deadline deadline) {
    dns::DkimVerification v(message);
    std::vector<dns::Question> questions = v.questions();
    if (questions.size() == 1) {
        auto looking = dns::lookup(resolver, questions.front(), deadline);
        const dns::Answer a = co_await std::move(looking);
        v.answer(questions.front(), a);
    } else if (!questions.empty()) {
        auto looking = async_lookup_all(resolver, questions, deadline, asio::use_awaitable);
        const std::vector<dns::Answer> answers = co_await std::move(looking);
        for (std::size_t i = 0; i < questions.size(); ++i) v.answer(questions[i], answers[i]);
    }
    co_return v.results();
}

asio::awaitable<std::vector<dns::DkimResult>> verify_dkim(Services& s, std::string_view message,
                                                          Deadline deadline) {
    // Onto the pool and back: the session's thread goes on serving other connections.
    auto job = dkim_job(*s.resolver, message, deadline);
    auto verifying = on_cpu_pool(s, std::move(job));
    std::vector<dns::DkimResult> results = co_await std::move(verifying);
    co_return results;
}

// Not a coroutine: drive() takes the evaluation into its own frame.
asio::awaitable<dns::DmarcEvaluation> discover_policy(dns::Resolver& resolver,
                                                      std::string_view from_domain,
                                                      Deadline deadline) {
    dns::DmarcEvaluation discovery(from_domain);
    return dns::drive(resolver, std::move(discovery), deadline);
}

// pct sampling (RFC 7489 §6.6.4) needs a real draw, not a hash of the message.
unsigned random_sample() {
    thread_local std::mt19937 engine{std::random_device{}()};
    return std::uniform_int_distribution<unsigned>(0, 99)(engine);
}

}  // namespace

std::shared_ptr<SpfCheck> reuse_spf(const StartSpf& request, std::shared_ptr<SpfCheck> previous) {
    if (previous && same_request(previous->request, request) &&
        Clock::now() - previous->started < kReuseFor)
        return previous;
    return nullptr;
}

std::shared_ptr<SpfCheck> start_spf(Services& services, const asio::any_io_executor& executor,
                                    StartSpf request, std::shared_ptr<SpfCheck> previous) {
    const auto now = Clock::now();
    if (auto reused = reuse_spf(request, std::move(previous))) return reused;
    auto check = std::make_shared<SpfCheck>(executor, std::move(request));
    check->started = now;
    check->deadline = now + auth_timeout(services);
    asio::co_spawn(executor, run_spf(*services.resolver, check, auth_timeout(services)), SpfDone{});
    return check;
}

// Results of co_await initialise named variables, never temporaries that are then assigned or
// passed on: g++ 12 mishandles temporaries with destructors in co_await full-expressions.
asio::awaitable<auth::Verdict> authenticate(Services& s, std::shared_ptr<SpfCheck> spf,
                                            std::string_view message) {
    const Deadline deadline = Clock::now() + auth_timeout(s);
    auth::Verdict v;
    v.checked = true;
    v.mailfrom = spf->request.sender;
    v.helo = spf->request.helo;
    const auth::AuthHeaders headers = auth::auth_headers(message);
    auth::AuthorDomain author = auth::author_domain(headers.from);
    const bool has_policy_domain = author.kind == dns::DmarcResultKind::pass;
    std::optional<dns::DmarcEvaluation> policy;
    // DKIM and the DMARC policy concurrently; SPF has been running since MAIL FROM.
    if (headers.dkim_signed && has_policy_domain) {
        auto dkim = verify_dkim(s, message, deadline);
        auto dmarc = discover_policy(*s.resolver, author.domain, deadline);
        auto both = std::move(dkim) && std::move(dmarc);
        auto [signatures, discovered] = co_await std::move(both);
        v.dkim = std::move(signatures);
        policy.emplace(std::move(discovered));
    } else if (headers.dkim_signed) {
        auto dkim = verify_dkim(s, message, deadline);
        std::vector<dns::DkimResult> signatures = co_await std::move(dkim);
        v.dkim = std::move(signatures);
    } else if (has_policy_domain) {
        auto dmarc = discover_policy(*s.resolver, author.domain, deadline);
        dns::DmarcEvaluation discovered = co_await std::move(dmarc);
        policy.emplace(std::move(discovered));
    }
    auto waiting = await_spf(spf);
    dns::SpfResult spf_result = co_await std::move(waiting);
    v.spf = std::move(spf_result);

    v.from_domain = author.domain;
    if (policy) {
        v.dmarc = auth::evaluate_dmarc(*policy, v.spf, v.dkim, random_sample());
    } else {
        v.dmarc.kind = author.kind;  // none (no From address) or permerror (unusable From)
        v.dmarc.problem = std::move(author.problem);
    }
    const auto action = s.config.auth.dmarc_reject_action == "quarantine"
                            ? auth::RejectAction::quarantine
                            : auth::RejectAction::reject;
    auth::Decision d = auth::decide(v.dmarc, v.from_domain, action);
    v.disposition = d.disposition;
    v.reason = std::move(d.reason);
    if (!policy && v.disposition == auth::Disposition::accept)
        v.disposition = auth::author_disposition(author);
    co_return v;
}

}  // namespace postern::smtp
