// postern-dns-query: asks DNS questions through Postern's resolver (c-ares on Asio) and prints
// the answers as JSON, for tests/integration/test_dns_resolver.py.
//
//   postern-dns-query --server 127.0.0.1:5353 MX:football.example.com TXT:example.com ...
//   postern-dns-query --server ... --spf 192.0.2.1,user@example.com,helo.example
//   postern-dns-query --server ... --dmarc sub.football.example.com
//
// All questions (and evaluations) of a pass start at once, so repeated questions share a query.
// Output, one JSON object per line and in the order given: {"question": {"type", "name"},
// "status", "ttl", "addresses", "mx": [[pref, host]], "txt", "names", "canonical_name", "ms",
// "pass"}; {"spf": {...}}; {"dmarc": {...}}; then {"stats": {...}} after each pass. --twice:
// after the first pass prints {"ready": true} and waits for a line on stdin before the second
// (so a test can stop the server in between). --threads N: N threads run the io_context.
// --destroy-after-ms N: the resolver is destroyed N ms into the run, with lookups in flight.
#include <CLI/CLI.hpp>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "dns/async_eval.hpp"
#include "dns/resolver.hpp"

namespace asio = boost::asio;
namespace json = boost::json;
using namespace postern::dns;
using Clock = std::chrono::steady_clock;

namespace {

struct Job {
    std::string kind;  // "question", "spf", "dmarc"
    Question question;
    std::string ip, sender, helo, domain;
    json::object result;
};

Type parse_type(const std::string& t) {
    for (Type type : {Type::A, Type::AAAA, Type::MX, Type::TXT, Type::PTR, Type::CNAME})
        if (t == type_name(type)) return type;
    throw std::runtime_error("unknown type " + t);
}

const char* status_name(Status s) {
    switch (s) {
        case Status::ok:
            return "ok";
        case Status::nodata:
            return "nodata";
        case Status::nxdomain:
            return "nxdomain";
        case Status::temperror:
            return "temperror";
        case Status::permerror:
            return "permerror";
    }
    return "?";
}

json::array strings(const std::vector<std::string>& v) {
    json::array a;
    for (const auto& s : v) a.emplace_back(s);
    return a;
}

json::object to_json(const Question& q, const Answer& a) {
    json::array mx;
    for (const Mx& m : a.mx) mx.push_back(json::array{m.preference, m.host});
    return json::object{
        {"question", {{"type", type_name(q.type)}, {"name", q.name}}},
        {"status", status_name(a.status)},
        {"ttl", a.ttl},
        {"addresses", strings(a.addresses)},
        {"mx", std::move(mx)},
        {"txt", strings(a.txt)},
        {"names", strings(a.names)},
        {"canonical_name", a.canonical_name},
    };
}

// `job` and `resolver` outlive io.run(), which runs this coroutine to its end.
asio::awaitable<void> run_job(Resolver& resolver, Job* job, Resolver::Deadline deadline,
                              std::chrono::milliseconds eval_timeout) {
    const auto start = Clock::now();
    if (job->kind == "question") {
        const Answer a = co_await lookup(resolver, job->question, deadline);
        job->result = to_json(job->question, a);
    } else if (job->kind == "spf") {
        const auto ip = IpAddress::parse(job->ip);
        if (!ip) throw std::runtime_error("bad IP address " + job->ip);
        SpfRequest request;
        request.client = *ip;
        request.sender = job->sender;
        request.helo = job->helo;
        const SpfResult r = co_await check_spf(resolver, request, {}, {eval_timeout});
        job->result = {{"spf",
                        {{"ip", job->ip},
                         {"sender", job->sender},
                         {"result", to_string(r.kind)},
                         {"mechanism", r.mechanism},
                         {"problem", r.problem}}}};
    } else {
        const DmarcEvaluation d = co_await discover_dmarc(resolver, job->domain, {eval_timeout});
        const char* status[] = {"found", "none", "temperror", "permerror"};
        job->result = {{"dmarc",
                        {{"domain", job->domain},
                         {"status", status[static_cast<int>(d.status())]},
                         {"policy_domain", d.policy_domain()},
                         {"p", to_string(d.record().p)},
                         {"subdomain_policy", d.subdomain_policy()}}}};
    }
    job->result["ms"] = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

struct Pass {
    int number = 1;
    int threads = 1;
    Resolver::Deadline deadline = Resolver::Deadline::max();
    std::chrono::milliseconds eval_timeout{20000};
    std::uint32_t destroy_after_ms = 0;  // destroy the resolver this long into the pass
};

void run_pass(asio::io_context& io, std::optional<Resolver>& resolver, std::vector<Job>& jobs,
              const Pass& pass, std::atomic<int>& failures) {
    for (Job& job : jobs)
        asio::co_spawn(io, run_job(*resolver, &job, pass.deadline, pass.eval_timeout),
                       [&failures](std::exception_ptr e) {
                           if (!e) return;
                           ++failures;  // atomic: handlers may run on several threads
                           try {
                               std::rethrow_exception(e);
                           } catch (const std::exception& ex) {
                               std::cerr << "postern-dns-query: " << ex.what() << "\n";
                           }
                       });
    // Destroying the resolver with lookups in flight: they must end with temperror. Only for
    // plain questions (an evaluation would ask the destroyed resolver its next question).
    asio::steady_timer destroy(io, std::chrono::milliseconds(pass.destroy_after_ms));
    if (pass.destroy_after_ms > 0)
        destroy.async_wait([&resolver](const boost::system::error_code& ec) {
            if (!ec) resolver.reset();
        });
    io.restart();
    std::vector<std::thread> more;
    for (int i = 1; i < pass.threads; ++i) more.emplace_back([&io] { io.run(); });
    io.run();
    for (std::thread& t : more) t.join();
    for (Job& job : jobs) {
        job.result["pass"] = pass.number;
        std::cout << json::serialize(job.result) << "\n";
    }
    if (!resolver) return;
    const ResolverStats s = resolver->stats();
    std::cout << json::serialize(json::object{{"stats",
                                               {{"pass", pass.number},
                                                {"lookups", s.lookups},
                                                {"cache_hits", s.cache_hits},
                                                {"coalesced", s.coalesced},
                                                {"queries", s.queries},
                                                {"deadline_expired", s.deadline_expired},
                                                {"cache_entries", s.cache_entries}}}})
              << std::endl;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"Asks DNS questions through Postern's resolver; prints JSON answers."};
    ResolverOptions options;
    std::uint32_t timeout_ms = 2000, deadline_ms = 0, eval_timeout_ms = 20000;
    std::uint32_t destroy_after_ms = 0;
    std::vector<std::string> questions, spf, dmarc;
    bool twice = false;
    int threads = 1;
    app.add_option("--server", options.servers, "host:port[,host:port...]")->required();
    app.add_option("--timeout-ms", timeout_ms, "c-ares timeout of the first try");
    app.add_option("--tries", options.tries, "c-ares tries");
    app.add_option("--max-in-flight", options.max_in_flight, "lookups at c-ares at once");
    app.add_option("--deadline-ms", deadline_ms, "per-lookup deadline (0: none)");
    app.add_option("--eval-timeout-ms", eval_timeout_ms, "SPF/DMARC evaluation deadline");
    app.add_option("--spf", spf, "IP,SENDER,HELO: an SPF check_host()")->allow_extra_args(false);
    app.add_option("--dmarc", dmarc, "FROM-DOMAIN: DMARC policy discovery")
        ->allow_extra_args(false);
    app.add_option("--threads", threads, "io threads running the io_context");
    app.add_option("--destroy-after-ms", destroy_after_ms,
                   "destroy the resolver this long into the run (lookups in flight)");
    app.add_flag("--twice", twice, "a second pass after a line on stdin");
    app.add_option("questions", questions, "TYPE:NAME");
    CLI11_PARSE(app, argc, argv);
    options.timeout = std::chrono::milliseconds(timeout_ms);

    try {
        std::vector<Job> jobs;
        for (const std::string& q : questions) {
            const auto colon = q.find(':');
            if (colon == std::string::npos) throw std::runtime_error("expected TYPE:NAME: " + q);
            Job j;
            j.kind = "question";
            j.question = Question{q.substr(colon + 1), parse_type(q.substr(0, colon))};
            jobs.push_back(std::move(j));
        }
        for (const std::string& s : spf) {
            const auto a = s.find(','), b = s.find(',', a + 1);
            if (a == std::string::npos || b == std::string::npos)
                throw std::runtime_error("expected IP,SENDER,HELO: " + s);
            Job j;
            j.kind = "spf";
            j.ip = s.substr(0, a);
            j.sender = s.substr(a + 1, b - a - 1);
            j.helo = s.substr(b + 1);
            jobs.push_back(std::move(j));
        }
        for (const std::string& d : dmarc) {
            Job j;
            j.kind = "dmarc";
            j.domain = d;
            jobs.push_back(std::move(j));
        }

        if (destroy_after_ms > 0 && (!spf.empty() || !dmarc.empty() || twice || threads > 1))
            throw std::runtime_error("--destroy-after-ms is for plain questions on one thread");
        asio::io_context io;
        std::optional<Resolver> resolver;
        resolver.emplace(io, options);
        std::atomic<int> failures = 0;
        Pass pass;
        pass.threads = threads;
        pass.eval_timeout = std::chrono::milliseconds(eval_timeout_ms);
        pass.destroy_after_ms = destroy_after_ms;
        auto deadline = [&] {
            return deadline_ms ? Clock::now() + std::chrono::milliseconds(deadline_ms)
                               : Resolver::Deadline::max();
        };
        pass.deadline = deadline();
        run_pass(io, resolver, jobs, pass, failures);
        if (twice) {
            std::cout << R"({"ready": true})" << std::endl;
            std::string line;
            std::getline(std::cin, line);
            pass.number = 2;
            pass.deadline = deadline();
            run_pass(io, resolver, jobs, pass, failures);
        }
        return failures == 0 ? 0 : 1;
    } catch (const std::exception& e) {
        std::cerr << "postern-dns-query: " << e.what() << "\n";
        return 2;
    }
}
