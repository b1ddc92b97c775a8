// Storage-only ingress: P producer threads each submit store_inbound jobs of a 4 KiB message to
// one group-commit Writer and wait for each before the next (as SMTP sessions do). Prints
// messages/s and messages per commit. Usage: storage_ingest [producers=20] [messages=10000]
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "common/ids.hpp"
#include "common/mime.hpp"
#include "storage/database.hpp"
#include "storage/migrations.hpp"
#include "storage/repos.hpp"
#include "storage/writer.hpp"

using namespace postern;

int main(int argc, char** argv) {
    int producers = argc > 1 ? std::atoi(argv[1]) : 20;
    int total = argc > 2 ? std::atoi(argv[2]) : 10000;
    auto dir = std::filesystem::temp_directory_path() / ("postern-bench-" + new_id("b"));
    std::filesystem::create_directories(dir);
    mime::init();
    std::string tenant_id, mailbox_id;
    {
        auto db = *storage::Database::open(dir / "p.db");
        (void)storage::migrate(*db);
        auto t = *storage::create_tenant(*db, "bench");
        (void)storage::create_domain(*db, t.id, "bench.test");
        auto m = *storage::create_mailbox(*db, t.id, "b@bench.test");
        tenant_id = t.id;
        mailbox_id = m.id;
    }
    auto writer = std::move(*storage::Writer::start(dir / "p.db"));
    std::string body(4096, 'x');
    for (std::size_t i = 76; i < body.size(); i += 78) body[i] = '\r', body[i + 1] = '\n';
    std::atomic<int> next{0};
    auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> threads;
    for (int p = 0; p < producers; ++p) {
        threads.emplace_back([&] {
            for (;;) {
                int n = next++;
                if (n >= total) return;
                auto m = std::make_shared<storage::InboundMessage>();
                m->raw = "Received: from x by y; Sun, 22 Nov 2026 08:00:00 +0000\r\n"
                         "From: a@client.test\r\nTo: b@bench.test\r\nSubject: bench " +
                         std::to_string(n) + "\r\nMessage-ID: <" + std::to_string(n) +
                         "@client.test>\r\n\r\n" + body;
                m->envelope_from = "a@client.test";
                m->recipients.push_back({mailbox_id, tenant_id, "b@bench.test"});
                m->summary = *mime::summarize(m->raw);
                m->received_at = n;
                std::promise<Result<void>> done;
                auto f = done.get_future();
                writer->submit(
                    [m](storage::Database& db) -> Result<void> {
                        auto ids = storage::store_inbound(db, *m);
                        if (!ids) return tl::unexpected(ids.error());
                        return {};
                    },
                    [&done](Result<void> r) { done.set_value(std::move(r)); });
                if (!f.get()) std::fprintf(stderr, "store failed\n");
            }
        });
    }
    for (auto& t : threads) t.join();
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    auto stats = writer->stats();
    writer->stop();
    std::printf("| %d producers | %d messages | %.0f msgs/s | %.1f msgs/commit |\n", producers,
                total, total / secs, double(stats.jobs) / double(stats.commits));
    std::filesystem::remove_all(dir);
}
