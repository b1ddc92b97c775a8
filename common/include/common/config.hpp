#pragma once
// The data directory's configuration file, `postern.toml` (toml++). Relative paths in it are
// resolved against the data directory. Loading throws std::runtime_error with one clear line
// (start-up error; see STYLE.md §4).
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

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
    // The mailbox that takes mail for "postmaster" (RFC 5321 §4.5.1): <Postmaster> with no
    // domain, and postmaster@<hosted domain> where that domain has no mailbox of the name.
    // Empty: postmaster@<hosted domain> goes to that domain's first mailbox (the oldest), and
    // <Postmaster> to the first mailbox of `hostname`'s domain or the nearest parent we host.
    std::string postmaster;
    // Subaddressing: "agent+tag@example.com" reaches agent@example.com when no mailbox has the
    // whole address. Each character is a delimiter; the local part is cut at the first one.
    // Empty: off.
    std::string recipient_delimiter = "+";
    // MAIL gets 452 4.3.1 while the data directory's file system has less than this free, or
    // less than twice a declared SIZE above it (the WAL, then the database, hold a copy each).
    std::uint64_t min_free_bytes = 100 * 1024 * 1024;
    // How long RCPT remembers an accepted recipient (smtpd/src/directory.hpp); 0: not at all.
    std::uint32_t recipient_cache_ms = 1000;
};

struct ApiConfig {
    Endpoint listen{"127.0.0.1", 8025};
    std::uint64_t max_body_bytes = 1024 * 1024;
    std::uint32_t max_header_bytes = 16 * 1024;
    std::uint32_t max_connections = 1000;
    std::uint32_t idle_timeout_seconds = 60;
    std::uint32_t drain_timeout_seconds = 10;
};

// The resolver (postern::dns::Resolver, c-ares).
struct DnsConfig {
    std::string servers;              // "host:port,host:port"; "" = /etc/resolv.conf
    std::uint32_t timeout_ms = 2000;  // first try; c-ares doubles it on each retry round
    std::uint32_t tries = 3;          // rounds over the servers
    std::uint32_t cache_max_entries = 100000;
};

// Mail authentication on the MX (SPF, DKIM, DMARC; RFC 8601 Authentication-Results).
struct AuthConfig {
    bool enabled = true;                         // run the checks at all
    std::string dmarc_reject_action = "reject";  // "reject" (550 5.7.1) or "quarantine" (junk)
    std::uint32_t spf_timeout_ms = 20000;        // bound on SPF, and on DKIM+DMARC at end of data
    bool add_authentication_results = true;      // prepend the Authentication-Results header
    std::string authserv_id;                     // "" = hostname
    const std::string& authserv(const std::string& hostname) const {
        return authserv_id.empty() ? hostname : authserv_id;
    }
};

// The Connex routes of postern-apid (docs/connex-api.md). Rates are per second; a burst is the
// bucket size. 0 for a rate or quota means unlimited.
struct ConnexConfig {
    std::uint32_t tenant_rate_per_second = 100;  // keyed routes, per tenant (token bucket)
    std::uint32_t tenant_burst = 200;
    std::uint32_t tenant_daily_events = 0;  // integration events per tenant per UTC day
    std::uint32_t ip_rate_per_second = 5;   // integration-preview and reasoning, per IP
    std::uint32_t ip_burst = 20;
    std::uint64_t max_body_bytes = 512 * 1024;  // keyed POST bodies; larger get 413
    std::uint64_t preview_max_body_bytes = 64 * 1024;
    std::uint32_t auto_evaluate_poll_ms = 200;  // outbox poll for inbound-mail evaluation
    // The optional live reasoning provider (docs/connex-api.md): an OpenAI-compatible chat
    // completions URL (http or https). Empty: deterministic only. It may only add
    // `recommendedInstruction`; on any failure the deterministic result stands.
    std::string reasoning_endpoint;
    std::string reasoning_model = "mundox";
    std::string reasoning_api_key_file;         // holds the bearer key; "" = none sent
    std::uint32_t reasoning_timeout_ms = 3000;  // the whole call, connect to last byte
    std::uint32_t reasoning_max_tokens = 200;
};

// Submission listeners of postern-smtpd (RFC 6409): AUTH only after TLS, sender bound to the
// authenticated mailbox. Unset endpoints are not opened.
struct SubmissionConfig {
    std::optional<Endpoint> listen;       // STARTTLS (port 587 in production)
    std::optional<Endpoint> tls_listen;   // implicit TLS (port 465 in production)
    std::uint32_t max_auth_failures = 3;  // per session, then 421 and close
};

// Outbound delivery: the queue runner in postern-smtpd and the sending routes of postern-apid.
struct OutboundConfig {
    bool require_verified_domain = true;  // sending needs ownership, SPF and DKIM verified
    std::uint64_t max_message_bytes = 25 * 1024 * 1024;  // REST sends over it get 413
    // Delays after each failed attempt, then every retry_interval_seconds until max_lifetime.
    std::vector<std::uint32_t> retry_schedule_seconds{60, 300, 900, 1800, 3600, 7200, 14400};
    std::uint32_t retry_interval_seconds = 14400;
    std::uint32_t max_lifetime_seconds = 5 * 86400;    // then bounce
    std::uint32_t delay_dsn_after_seconds = 4 * 3600;  // a delay DSN once, 0 = never
    std::uint16_t mx_port = 25;                        // the port MX hosts are tried on
    // Transport map: recipient domain (or "*" for a smarthost) -> host:port; beats the MX lookup.
    std::map<std::string, Endpoint> routes;
    std::uint32_t max_concurrent = 100;      // transactions (delivery attempts) in flight
    std::uint32_t max_per_destination = 10;  // connections per destination host
    std::uint32_t connect_timeout_ms = 30000;
    std::uint32_t command_timeout_ms = 300000;  // RFC 5321 §4.5.3.2 allows 5 min (10 for DATA)
    std::uint32_t poll_ms = 1000;               // how often the runner looks for due deliveries
    bool opportunistic_tls = true;              // STARTTLS when offered, unauthenticated
    // Connection reuse: a connection that ends a transaction cleanly waits this long for the
    // next message to the same server (0: every transaction on a connection of its own) and
    // carries at most connection_reuse_limit transactions (and lives at most 300 s).
    std::uint32_t connection_cache_ms = 2000;
    std::uint32_t connection_reuse_limit = 100;
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
    ConnexConfig connex;
    DnsConfig dns;
    AuthConfig auth;
    SubmissionConfig submission;
    OutboundConfig outbound;

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
