// Throughput of the pure Connex evaluator over the labelled corpus (tests/data/connex), cycling
// through its messages: classify() alone, evaluate_status(), evaluate_event() including
// serialisation (what apid does per request), and preview(). Prints a markdown table with both
// wall-clock throughput and CPU time per evaluation (thread CPU clock), since the build machines
// are shared and wall-clock rates drop whenever someone else compiles. Not a test: it never fails.
//   connex_eval [seconds per row] [threads]
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "connex/classifier.hpp"
#include "connex/evaluator.hpp"

namespace json = boost::json;
using namespace postern::connex;

namespace {

std::vector<json::object> load_requests() {
    auto path =
        std::filesystem::path(POSTERN_SOURCE_DIR) / "tests" / "data" / "connex" / "labelled.jsonl";
    std::ifstream in(path);
    std::vector<json::object> out;
    std::string line;
    const auto workflow = json::parse(R"({"statuses": ["New", "LOI Sent", "Needs POF", "Dead"],
        "inboxes": ["Sales", "Human Approval"], "transitions": {"LOI Sent": ["Needs POF", "Dead"]},
        "canonicalMappings": {"proof_of_funds_requested": "Needs POF", "not_interested": "Dead"}})");
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        auto m = json::parse(line).as_object();
        json::object msg{{"subject", m.at("subject")}, {"body", m.at("body")}};
        if (auto* f = m.if_contains("from")) msg["from"] = *f;
        out.push_back({{"app", "buyboxclub"},
                       {"currentStatus", "LOI Sent"},
                       {"sourceSystem", "buyboxclub"},
                       {"sourceEventId", "evt_" + std::to_string(out.size())},
                       {"message", std::move(msg)},
                       {"workflow", workflow}});
    }
    return out;
}

double thread_cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

struct Rate {
    double per_second;   // wall clock, all threads together
    double cpu_us_each;  // CPU time per call
};

// Runs `fn(i)` on `threads` threads for about `seconds`.
Rate rate(double seconds, int threads, const std::function<std::size_t(std::size_t)>& fn) {
    std::atomic<bool> stop{false};
    std::atomic<std::uint64_t> total{0}, sink{0};
    std::atomic<std::uint64_t> cpu_ns{0};
    std::vector<std::thread> pool;
    auto start = std::chrono::steady_clock::now();
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
            double cpu0 = thread_cpu_seconds();
            std::uint64_t n = 0, s = 0;
            for (std::size_t i = t; !stop.load(std::memory_order_relaxed); ++i, ++n) s += fn(i);
            cpu_ns += static_cast<std::uint64_t>((thread_cpu_seconds() - cpu0) * 1e9);
            total += n;
            sink += s;
        });
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    stop = true;
    for (auto& th : pool) th.join();
    double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (sink == 42) std::puts("");  // keep the work observable
    return {double(total) / elapsed, double(cpu_ns) / 1e3 / double(total)};
}

}  // namespace

int main(int argc, char** argv) {
    double seconds = argc > 1 ? std::atof(argv[1]) : 2.0;
    int max_threads = argc > 2 ? std::atoi(argv[2]) : 2;
    auto reqs = load_requests();
    if (reqs.empty()) {
        std::fprintf(stderr, "no corpus found\n");
        return 1;
    }
    TenantWeights weights;
    EvalContext ctx;
    ctx.tenant_id = "ten_bench";
    std::size_t avg = 0;
    for (const auto& r : reqs) avg += r.at("message").at("body").as_string().size();
    std::printf(
        "Connex evaluator over %zu corpus messages (mean body %zu bytes), %.1f s per row\n\n",
        reqs.size(), avg / reqs.size(), seconds);
    std::printf(
        "| operation | threads | evaluations/s (wall) | CPU us/evaluation | evaluations/s per core "
        "(CPU) |\n"
        "|---|---|---|---|---|\n");

    struct Row {
        const char* name;
        std::function<std::size_t(std::size_t)> fn;
    };
    std::vector<Row> rows{
        {"classify (text only)",
         [&](std::size_t i) {
             const auto& m = reqs[i % reqs.size()].at("message").as_object();
             return static_cast<std::size_t>(
                 classify({m.at("subject").as_string(), m.at("body").as_string(), ""}, weights)
                     .status);
         }},
        {"evaluate_status (JSON object)",
         [&](std::size_t i) {
             return evaluate_status(reqs[i % reqs.size()], weights, ctx).size();
         }},
        {"evaluate_event + serialize",
         [&](std::size_t i) {
             return json::serialize(evaluate_event(reqs[i % reqs.size()], weights, ctx)).size();
         }},
        {"evaluate_event_json (arena)",
         [&](std::size_t i) {
             return evaluate_event_json(reqs[i % reqs.size()], weights, ctx).size();
         }},
        {"evaluate_status_json (arena)",
         [&](std::size_t i) {
             return evaluate_status_json(reqs[i % reqs.size()], weights, ctx).size();
         }},
        {"preview + serialize",
         [&](std::size_t i) { return json::serialize(preview(reqs[i % reqs.size()])).size(); }},
        {"preview_json (arena)",
         [&](std::size_t i) { return preview_json(reqs[i % reqs.size()]).size(); }},
    };
    for (const auto& row : rows) {
        for (int threads = 1; threads <= max_threads; threads *= 2) {
            auto r = rate(seconds, threads, row.fn);
            std::printf("| %s | %d | %.0f | %.1f | %.0f |\n", row.name, threads, r.per_second,
                        r.cpu_us_each, 1e6 / r.cpu_us_each);
        }
    }
    return 0;
}
