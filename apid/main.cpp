// postern-apid: reads the configuration, wires the objects, serves until drained.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <exception>
#include <stdexcept>
#include <string>

#include "apid/api.hpp"
#include "apid/auto_evaluate.hpp"
#include "apid/read_pool.hpp"
#include "apid/run_files.hpp"
#include "apid/server.hpp"
#include "common/config.hpp"
#include "common/log.hpp"
#include "common/mime.hpp"
#include "storage/database.hpp"
#include "storage/migrations.hpp"
#include "storage/writer.hpp"

namespace {

constexpr const char* kAddrFile = "postern-apid.addr";
constexpr const char* kPidFile = "postern-apid.pid";

void check(const postern::Result<void>& r) {
    if (!r) throw std::runtime_error(r.error().message());
}

// Brings the schema up to date (a no-op when `postern init` or postern-smtpd already did).
void migrate(const postern::Config& config) {
    auto db = postern::storage::Database::open(config.database_path());
    if (!db) throw std::runtime_error(db.error().message());
    check(postern::storage::migrate(**db));
}

int serve(const std::string& data_flag) {
    auto config = postern::load_config(postern::resolve_data_dir(data_flag));
    postern::init_logging(config.log_level, "postern-apid");
    postern::mime::init();
    migrate(config);

    // One group-commit writer per process (DESIGN.md §4): every write a reply acknowledges.
    auto writer = postern::storage::Writer::start(config.database_path());
    if (!writer) throw std::runtime_error(writer.error().message());
    postern::api::ReadPool reads(config.database_path());
    postern::api::ApiOptions options;
    options.connex = postern::api::ConnexOptions::from(config.connex, config.data_dir);
    options.mail.hostname = config.hostname;
    options.mail.max_message_bytes = config.outbound.max_message_bytes;
    options.mail.require_verified_domain = config.outbound.require_verified_domain;
    options.mail.dns = config.dns;
    options.mail.disk_room = std::make_shared<postern::DiskRoom>(
        config.database_path().parent_path(), config.smtp.min_free_bytes, "sends get 507");
    postern::api::Api api(options);
    postern::api::Server server(config, api, reads, writer->get());
    postern::Endpoint bound = server.listen();
    postern::api::AutoEvaluator auto_evaluate(
        config.database_path(), **writer, api.connex().weights(),
        {std::chrono::milliseconds(config.connex.auto_evaluate_poll_ms), 100});
    auto_evaluate.start();

    auto run_dir = config.data_dir / "run";
    check(postern::api::write_run_file(run_dir, kPidFile, std::to_string(::getpid()) + "\n"));
    check(postern::api::write_run_file(run_dir, kAddrFile, "api " + bound.str() + "\n"));
    spdlog::info("listening on {}", bound.str());

    server.run();
    auto_evaluate.stop();  // before the writer it submits to
    (*writer)->stop();
    auto stats = (*writer)->stats();
    spdlog::info("writer: {} jobs in {} commits", stats.jobs, stats.commits);

    postern::api::remove_run_file(run_dir, kAddrFile);
    postern::api::remove_run_file(run_dir, kPidFile);
    spdlog::info("stopped");
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"postern-apid: the Postern REST API daemon"};
    std::string data;
    app.add_option("--data", data, "data directory (default: $POSTERN_DATA)");
    CLI11_PARSE(app, argc, argv);
    try {
        return serve(data);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "postern-apid: %s\n", e.what());
        return 1;
    }
}
