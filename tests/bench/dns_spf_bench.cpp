// SPF evaluations per second through the resolver with a warm cache, beside pyspf in the same
// run. Starts nsd on loopback with tests/data zones, fills the resolver's cache by evaluating
// each case once (every answer then comes from nsd), and measures check_spf() (the async
// driver over Resolver, one io thread) with every answer cached. pyspf (Debian's python3-spf)
// gets exactly the answers our resolver got, from memory, which is its warm-cache equivalent.
// The sans-I/O evaluator alone (answers from a hash table) is measured too, to show what the
// resolver and the coroutines cost. Prints a markdown table and writes it into
// docs/performance.md between <!-- dns_spf:begin --> and <!-- dns_spf:end -->.
// Not a test: it never fails on a number.
//   dns_spf_bench [--seconds 3] [--no-doc]
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "dns/async_eval.hpp"
#include "dns/resolver.hpp"

namespace asio = boost::asio;
namespace fs = std::filesystem;
namespace json = boost::json;
using namespace postern::dns;
using Clock = std::chrono::steady_clock;

namespace {

const fs::path kSource = POSTERN_SOURCE_DIR;

struct Case {
    std::string ip, sender, helo, expect;
    SpfRequest request() const {
        SpfRequest r;
        r.client = *IpAddress::parse(ip);
        r.sender = sender;
        r.helo = helo;
        return r;
    }
};

// mx + a + include (fail walks every term), include, ip4, ptr.
const std::vector<Case> kCases = {
    {"192.0.2.1", "a@spf.resolver.test", "h.example", "pass"},
    {"198.51.100.25", "a@spf.resolver.test", "h.example", "pass"},
    {"203.0.113.9", "x@spf.resolver.test", "h.example", "fail"},
    {"127.0.0.3", "x@sub.football.example.com", "h.example", "pass"},
    {"192.0.2.1", "a@example.com", "h.example", "pass"},
    {"192.0.2.1", "a@ptrspf.resolver.test", "h.example", "pass"},
};

int free_port() {
    for (int i = 0; i < 50; ++i) {
        const int u = socket(AF_INET, SOCK_DGRAM, 0), t = socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        int port = -1;
        if (bind(u, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
            getsockname(u, reinterpret_cast<sockaddr*>(&a), &len) == 0 &&
            bind(t, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0)
            port = ntohs(a.sin_port);
        close(u);
        close(t);
        if (port > 0) return port;
    }
    throw std::runtime_error("no free port");
}

std::string read_file(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// nsd in the foreground under timeout(1), stopped by its PID.
class Nsd {
 public:
    Nsd() : dir_(fs::temp_directory_path() / ("postern-bench-nsd-" + std::to_string(getpid()))) {
        fs::create_directories(dir_);
        for (const char* z : {"dmarc/football.example.com.zone", "dmarc/example.com.zone",
                              "dns/resolver.test.zone", "dns/2.0.192.in-addr.arpa.zone"})
            fs::copy_file(kSource / "tests/data" / z, dir_ / fs::path(z).filename(),
                          fs::copy_options::overwrite_existing);
        port_ = free_port();
        std::string conf = read_file(kSource / "tests/data/dns/nsd.conf");
        for (auto [from, to] : {std::pair<std::string, std::string>{"@WORK@", dir_.string()},
                                {"@PORT@", std::to_string(port_)}})
            for (auto at = conf.find(from); at != std::string::npos; at = conf.find(from))
                conf.replace(at, from.size(), to);
        std::ofstream(dir_ / "nsd.conf") << conf;
        const std::string conf_path = (dir_ / "nsd.conf").string();
        const char* argv[] = {"timeout",         "-s",   "TERM", "600", "nsd", "-d", "-c",
                              conf_path.c_str(), nullptr};
        if (posix_spawnp(&pid_, "timeout", nullptr, nullptr, const_cast<char**>(argv), environ))
            throw std::runtime_error("cannot start nsd");
        for (int i = 0; i < 200; ++i) {
            if (read_file(dir_ / "nsd.log").find("nsd started") != std::string::npos) return;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        stop();
        throw std::runtime_error("nsd did not start (is it installed?)");
    }
    ~Nsd() { stop(); }
    void stop() {
        if (pid_ > 0) {
            kill(pid_, SIGTERM);
            waitpid(pid_, nullptr, 0);
            pid_ = -1;
        }
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }
    int port() const { return port_; }

 private:
    fs::path dir_;
    pid_t pid_ = -1;
    int port_ = 0;
};

struct Recorded {
    Question q;
    Answer a;
};

// Evaluates every case once through the resolver, recording each question and its answer.
asio::awaitable<void> warm(Resolver& r, std::vector<Recorded>* out, int* mismatches) {
    for (const Case& c : kCases) {
        SpfEvaluation e(c.request());
        while (const Question* q = e.next()) {
            Answer a = co_await lookup(r, *q);
            out->push_back({*q, a});
            e.answer(a);
        }
        if (to_string(e.result().kind) != c.expect) ++*mismatches;
    }
}

struct Tally {
    std::uint64_t evaluations = 0;
    double seconds = 0;
    int mismatches = 0;
};

asio::awaitable<void> measure(Resolver& r, Clock::duration budget, Tally* t) {
    const auto start = Clock::now();
    while (Clock::now() - start < budget)
        for (const Case& c : kCases) {
            const SpfResult res = co_await check_spf(r, c.request());
            ++t->evaluations;
            if (to_string(res.kind) != c.expect) ++t->mismatches;
        }
    t->seconds = std::chrono::duration<double>(Clock::now() - start).count();
}

Tally measure_pure(const std::vector<Recorded>& answers, Clock::duration budget) {
    std::unordered_map<std::string, Answer> table;
    for (const Recorded& r : answers) table[cache_key(r.q)] = r.a;
    auto resolve = [&](const Question& q) { return table.at(cache_key(q)); };
    Tally t;
    const auto start = Clock::now();
    while (Clock::now() - start < budget)
        for (const Case& c : kCases) {
            if (to_string(evaluate_spf(resolve, c.request()).kind) != c.expect) ++t.mismatches;
            ++t.evaluations;
        }
    t.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    return t;
}

json::value run_pyspf(const std::vector<Recorded>& answers, double seconds) {
    const fs::path dir = fs::temp_directory_path();
    const fs::path answers_path = dir / ("postern-bench-answers-" + std::to_string(getpid()));
    const fs::path cases_path = dir / ("postern-bench-cases-" + std::to_string(getpid()));
    json::array a, c;
    for (const Recorded& r : answers) {
        json::array mx, addresses, txt, names;
        for (const Mx& m : r.a.mx) mx.push_back(json::array{m.preference, m.host});
        for (const auto& s : r.a.addresses) addresses.emplace_back(s);
        for (const auto& s : r.a.txt) txt.emplace_back(s);
        for (const auto& s : r.a.names) names.emplace_back(s);
        const char* status = r.a.status == Status::ok ? "ok" : "negative";
        if (r.a.status == Status::temperror) status = "temperror";
        a.push_back(json::object{{"name", r.q.name},
                                 {"type", type_name(r.q.type)},
                                 {"status", status},
                                 {"addresses", addresses},
                                 {"mx", mx},
                                 {"txt", txt},
                                 {"names", names}});
    }
    for (const Case& k : kCases)
        c.push_back(json::object{
            {"ip", k.ip}, {"sender", k.sender}, {"helo", k.helo}, {"expect", k.expect}});
    std::ofstream(answers_path) << json::serialize(a);
    std::ofstream(cases_path) << json::serialize(c);
    const std::string cmd =
        "/usr/bin/python3 " + (kSource / "tests/bench/dns_spf_pyspf.py").string() + " " +
        answers_path.string() + " " + cases_path.string() + " " + std::to_string(seconds);
    std::string out;
    if (FILE* p = popen(cmd.c_str(), "r")) {
        char buf[4096];
        while (std::size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
        pclose(p);
    }
    fs::remove(answers_path);
    fs::remove(cases_path);
    try {
        return json::parse(out);
    } catch (const std::exception&) {
        return nullptr;  // pyspf not installed, or it failed: reported as n/a
    }
}

void write_doc(const std::string& table) {
    const fs::path doc = kSource / "docs/performance.md";
    const std::string begin = "<!-- dns_spf:begin -->", end = "<!-- dns_spf:end -->";
    std::string text = fs::exists(doc) ? read_file(doc) : "# Performance\n";
    const std::string block = begin + "\n" + table + end;
    const auto b = text.find(begin), e = text.find(end);
    if (b != std::string::npos && e != std::string::npos && e > b)
        text.replace(b, e + end.size() - b, block);
    else
        text += (text.empty() || text.back() == '\n' ? "\n" : "\n\n") + block + "\n";
    std::ofstream(doc) << text;
}

std::string cpu_model() {
    std::ifstream in("/proc/cpuinfo");
    for (std::string line; std::getline(in, line);)
        if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
    return "unknown CPU";
}

}  // namespace

int main(int argc, char** argv) {
    double seconds = 3;
    bool doc = true;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--seconds" && i + 1 < argc)
            seconds = std::stod(argv[++i]);
        else if (arg == "--no-doc")
            doc = false;
    }
    const auto budget =
        std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
    try {
        Nsd nsd;
        asio::io_context io;  // run by this thread only: one io thread
        ResolverOptions options;
        options.servers = "127.0.0.1:" + std::to_string(nsd.port());
        Resolver resolver(io, options);

        std::vector<Recorded> answers;
        int warm_mismatches = 0;
        auto rethrow = [](std::exception_ptr e) {
            if (e) std::rethrow_exception(e);
        };
        asio::co_spawn(io, warm(resolver, &answers, &warm_mismatches), rethrow);
        io.run();
        const ResolverStats after_warm = resolver.stats();

        Tally ours;
        io.restart();
        asio::co_spawn(io, measure(resolver, budget, &ours), rethrow);
        io.run();
        const ResolverStats after = resolver.stats();
        const Tally pure = measure_pure(answers, budget);
        const json::value py = run_pyspf(answers, seconds);

        char buf[2048];
        std::unordered_set<std::string> distinct;
        for (const Recorded& r : answers) distinct.insert(cache_key(r.q));
        std::string table =
            "SPF `check_host()` evaluations per second with a warm cache, one thread: " +
            std::to_string(kCases.size()) +
            " cases cycled (mx + a + include, ip4, ptr, include; pass and fail), "
            "asking " +
            std::to_string(answers.size()) + " questions per cycle (" +
            std::to_string(distinct.size()) + " distinct). " + cpu_model() +
            ", shared with other builds: read the ratios, not the digits.\n\n" +
            "| implementation | DNS answers from | evaluations/s | µs/evaluation |\n"
            "|---|---|---:|---:|\n";
        auto row = [&](const char* impl, const char* from, double per_second) {
            std::snprintf(buf, sizeof buf, "| %s | %s | %.0f | %.2f |\n", impl, from, per_second,
                          1e6 / per_second);
            table += buf;
        };
        row("Postern `check_spf()` (Resolver + async driver, 1 io thread)",
            "resolver cache, filled from nsd", ours.evaluations / ours.seconds);
        row("Postern `SpfEvaluation` alone (sans-I/O)", "hash table in memory",
            pure.evaluations / pure.seconds);
        if (py.is_object()) {
            const std::string name =
                "pyspf " + std::string(py.at("version").as_string()) + " (python3-spf)";
            row(name.c_str(), "dict in memory (`spf.DNSLookup` replaced)",
                py.at("per_second").to_number<double>());
        } else {
            table += "| pyspf (python3-spf) | n/a | n/a | n/a |\n";
        }
        std::snprintf(buf, sizeof buf,
                      "\nDuring the measurement the resolver sent %llu queries (%llu during "
                      "warm-up) and answered %llu lookups from its cache.\n",
                      static_cast<unsigned long long>(after.queries - after_warm.queries),
                      static_cast<unsigned long long>(after_warm.queries),
                      static_cast<unsigned long long>(after.cache_hits - after_warm.cache_hits));
        table += buf;
        std::cout << table;
        const int mismatches = warm_mismatches + ours.mismatches + pure.mismatches +
                               (py.is_object() ? py.at("mismatches").to_number<int>() : 0);
        if (mismatches) std::cerr << "warning: " << mismatches << " unexpected SPF results\n";
        if (doc) write_doc(table);
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "dns_spf_bench: " << e.what() << "\n";
        return 1;
    }
}
