// postern-smtpd: the SMTP daemon (MX ingress, the outbound queue runner). Reads the config,
// builds the writer, the server and the runner, runs the io_contexts, and drains on
// SIGTERM/SIGINT. Nothing else lives here.
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/thread_pool.hpp>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <memory>
#include <thread>
#include <vector>

#include "common/config.hpp"
#include "common/files.hpp"
#include "common/log.hpp"
#include "common/mime.hpp"
#include "dns/resolver.hpp"
#include "smtpd/queue_runner.hpp"
#include "smtpd/server.hpp"
#include "storage/writer.hpp"

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace postern;

namespace {

constexpr const char* kName = "postern-smtpd";

// Writes `text` to `path` through a temporary file and a rename, so readers never see half.
void write_atomically(const fs::path& path, const std::string& text) {
    if (auto w = write_file_atomically(path, text, 0644); !w)
        throw std::runtime_error(w.error().message());
}

struct RunFiles {
    fs::path addr, pid;
    ~RunFiles() {
        std::error_code ec;
        if (!addr.empty()) fs::remove(addr, ec);
        if (!pid.empty()) fs::remove(pid, ec);
    }
};

using IoContexts = std::vector<std::unique_ptr<asio::io_context>>;

// First signal: drain the sessions and the queue runner's attempts in flight, then stop every
// io_context. Another: close what remains now.
void on_signal(asio::signal_set& signals, smtp::Server& server, smtp::outbound::QueueRunner& runner,
               IoContexts& ios, int count) {
    signals.async_wait(
        [&signals, &server, &runner, &ios, count](boost::system::error_code ec, int sig) {
            if (ec) return;
            if (count == 0) {
                spdlog::info("{}: signal {}: draining", kName, sig);
                server.drain([&ios, &runner] {
                    runner.drain([&ios] {
                        for (auto& context : ios) context->stop();
                    });
                });
            } else {
                spdlog::info("{}: signal {} again: closing sessions now", kName, sig);
                server.force_close();
                for (auto& context : ios)
                    context->stop();  // attempts in flight: leases recover them
            }
            on_signal(signals, server, runner, ios, count + 1);
        });
}

// Every connection is a descriptor: take all the hard limit allows (max_connections may be
// thousands while the usual soft limit is 1024).
void raise_fd_limit() {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &limit);
    }
}

int run(const std::string& data_flag) {
    Config config = load_config(resolve_data_dir(data_flag));
    init_logging(config.log_level, kName);
    mime::init();
    raise_fd_limit();

    auto writer = storage::Writer::start(config.database_path());
    if (!writer)
        throw std::runtime_error("cannot open " + config.database_path().string() + ": " +
                                 writer.error().message());

    RunFiles run_files;
    fs::path run_dir = config.data_dir / "run";
    fs::create_directories(run_dir);
    std::error_code ec;
    fs::remove(run_dir / (std::string(kName) + ".addr"), ec);  // a stale one from a crash

    // One io_context per thread (see smtpd/server.hpp); the first also hosts the listeners and
    // the signals. Work guards keep idle workers running until the drain stops them all.
    // By default one core is left to the group-commit writer, the serial stage every message
    // waits on: on 2 cores one io thread instead of two cut CPU per message from ~520 to ~360 µs
    // and raised ingress throughput (docs/performance.md, smtp_ingress).
    unsigned threads = config.threads ? config.threads : std::thread::hardware_concurrency() - 1;
    threads = std::max(1u, threads);
    std::vector<std::unique_ptr<asio::io_context>> ios;
    std::vector<asio::io_context*> workers;
    for (unsigned i = 0; i < threads; ++i) {
        ios.push_back(std::make_unique<asio::io_context>(1));
        workers.push_back(ios.back().get());
    }
    asio::io_context& io = *ios.front();

    // Mail authentication: one resolver (c-ares on the first io_context, thread-safe lookups).
    // The resolver also serves the queue runner's MX lookups, so it always exists. A small pool
    // takes CPU-bound steps off the io threads: DKIM verification (RSA/Ed25519) when checks are
    // on, and the MIME summary of a large message (smtpd/src/offload.cpp). Declared after the
    // io_contexts so that it is destroyed first; it is stopped after run().
    dns::Resolver resolver(io, dns::resolver_options(config.dns));
    asio::thread_pool cpu_pool(std::max(1u, std::thread::hardware_concurrency() / 2));
    smtp::Server server(io, workers, config, **writer, config.auth.enabled ? &resolver : nullptr,
                        &cpu_pool);
    // Outbound: DKIM signing and message loading on their own small pool; the rest on `io`.
    asio::thread_pool outbound_pool(std::max(2u, std::thread::hardware_concurrency()));
    smtp::outbound::QueueRunner runner(io, config, **writer, resolver, outbound_pool);

    std::string addr;
    for (const auto& l : server.listeners()) addr += l.name + " " + l.endpoint.str() + "\n";
    run_files.pid = run_dir / (std::string(kName) + ".pid");
    write_atomically(run_files.pid, std::to_string(::getpid()) + "\n");
    run_files.addr = run_dir / (std::string(kName) + ".addr");
    write_atomically(run_files.addr, addr);

    std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
    for (auto& context : ios) guards.push_back(asio::make_work_guard(*context));
    asio::signal_set signals(io, SIGINT, SIGTERM);
    on_signal(signals, server, runner, ios, 0);
    server.start();
    runner.start();
    for (const auto& l : server.listeners())
        spdlog::info("{}: {} listening on {}", kName, l.name, l.endpoint.str());

    std::vector<std::jthread> pool;
    for (unsigned i = 1; i < threads; ++i)
        pool.emplace_back([context = ios[i].get()] { context->run(); });
    io.run();
    pool.clear();  // joins
    outbound_pool.stop();
    outbound_pool.join();
    cpu_pool.stop();  // summaries and verifications in flight end with their sessions
    cpu_pool.join();
    (*writer)->stop();  // commits what is queued
    auto stats = server.stats();
    auto commits = (*writer)->stats();
    auto out = runner.stats();
    spdlog::info(
        "{}: stopped; {} connection(s), {} refused, {} message(s) stored; outbound: {} "
        "delivered, {} deferred, {} bounced; writer: {} job(s) in {} commit(s), {} ms running "
        "jobs, {} ms committing",
        kName, stats.accepted, stats.refused, stats.messages, out.delivered, out.deferred,
        out.bounced, commits.jobs, commits.commits, commits.job_us / 1000,
        commits.commit_us / 1000);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"postern-smtpd: the Postern SMTP daemon (MX ingress, outbound delivery)"};
    std::string data;
    app.add_option("--data", data, "data directory (default: $POSTERN_DATA)");
    CLI11_PARSE(app, argc, argv);
    try {
        return run(data);
    } catch (const std::exception& e) {
        std::cerr << kName << ": " << e.what() << "\n";
        return 1;
    }
}
