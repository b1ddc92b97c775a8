#pragma once
// The data directory's configuration file, `postern.toml` (toml++). Relative paths in it are
// resolved against the data directory. Loading throws std::runtime_error with one clear line
// (start-up error; see STYLE.md §4).
#include <cstdint>
#include <filesystem>
#include <string>

namespace postern {

struct Endpoint {
    std::string host = "127.0.0.1";
    std::uint16_t port = 0;
    std::string str() const;
};

// Parses "host:port" or "[v6]:port". Throws std::invalid_argument with a clear message.
Endpoint parse_endpoint(const std::string& text);

struct SmtpConfig {
    Endpoint mx_listen{"127.0.0.1", 2525};
    std::uint64_t max_message_size = 25 * 1024 * 1024;  // SIZE; larger messages get 552 5.3.4
    std::uint32_t max_recipients = 100;                 // more get 452 4.5.3
    std::uint32_t max_connections = 2000;               // global; over it 421 4.7.0
    std::uint32_t max_connections_per_ip = 50;          // per client address
    std::uint32_t idle_timeout_seconds = 300;           // RFC 5321 §4.5.3.2 suggests 5 min
    std::uint32_t max_errors = 10;                      // then 421 and close
    std::uint32_t drain_timeout_seconds = 30;           // SIGTERM grace for sessions in flight
};

struct ApiConfig {
    Endpoint listen{"127.0.0.1", 8025};
    std::uint64_t max_body_bytes = 1024 * 1024;
    std::uint32_t max_header_bytes = 16 * 1024;
    std::uint32_t max_connections = 1000;
    std::uint32_t idle_timeout_seconds = 60;
    std::uint32_t drain_timeout_seconds = 10;
};

struct Config {
    std::filesystem::path data_dir;
    std::string hostname = "localhost";
    std::string database = "postern.db";
    std::string tls_cert = "tls/cert.pem";
    std::string tls_key = "tls/key.pem";
    std::string log_level = "info";
    unsigned threads = 0;  // io threads; 0 = one per core
    SmtpConfig smtp;
    ApiConfig api;

    std::filesystem::path database_path() const;
    std::filesystem::path path(const std::string& relative) const;
};

inline constexpr const char* kConfigFileName = "postern.toml";

// Reads DATA_DIR/postern.toml.
Config load_config(const std::filesystem::path& data_dir);
// Writes DATA_DIR/postern.toml (used by `postern init`).
void save_config(const Config& config);
// Resolves --data DIR, else $POSTERN_DATA; throws when neither is set.
std::filesystem::path resolve_data_dir(const std::string& flag);

}  // namespace postern
