#include "dns/domain_check_run.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <exception>

#include "dns/async_eval.hpp"
#include "dns/resolver.hpp"

namespace postern::dns {
namespace {

boost::asio::awaitable<std::vector<dns::RecordCheck>> check(dns::Resolver& resolver,
                                                            dns::DomainSetup setup,
                                                            dns::Resolver::Deadline deadline) {
    // No temporaries with destructors inside the co_await (g++ 12 destroys them twice).
    dns::DomainCheck fresh(std::move(setup));
    auto op = dns::drive(resolver, std::move(fresh), deadline);
    dns::DomainCheck done = co_await std::move(op);
    co_return done.results();
}

}  // namespace

std::vector<dns::RecordCheck> run_domain_check(const DnsConfig& config, dns::DomainSetup setup,
                                               std::chrono::milliseconds timeout) {
    boost::asio::io_context io;
    dns::Resolver resolver(io, dns::resolver_options(config));
    std::vector<dns::RecordCheck> results;
    std::exception_ptr failure;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    boost::asio::co_spawn(io, check(resolver, std::move(setup), deadline),
                          [&](std::exception_ptr e, std::vector<dns::RecordCheck> r) {
                              if (e)
                                  failure = e;
                              else
                                  results = std::move(r);
                              // Queries past the deadline would go on through c-ares's whole
                              // retry schedule (they fill the cache); nobody waits for them.
                              io.stop();
                          });
    io.run();
    if (failure) std::rethrow_exception(failure);
    return results;
}

}  // namespace postern::dns
