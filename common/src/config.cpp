#include "common/config.hpp"

#include <arpa/inet.h>
#include <toml++/toml.h>

#include <charconv>
#include <cstdlib>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <type_traits>

#include "common/address.hpp"
#include "common/files.hpp"

namespace postern {

std::string Endpoint::str() const {
    if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
    return host + ":" + std::to_string(port);
}

Endpoint parse_endpoint(const std::string& text) {
    auto colon = text.rfind(':');
    if (colon == std::string::npos || colon + 1 == text.size())
        throw std::invalid_argument("expected HOST:PORT, got '" + text + "'");
    std::string host = text.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    if (host.empty()) throw std::invalid_argument("missing host in '" + text + "'");
    unsigned char ip[16];
    if (inet_pton(AF_INET, host.c_str(), ip) != 1 && inet_pton(AF_INET6, host.c_str(), ip) != 1 &&
        !normalize_domain(host))
        throw std::invalid_argument("bad host in '" + text + "' (an IP address or a host name)");
    unsigned port = 0;
    auto p = text.substr(colon + 1);
    auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
    if (ec != std::errc() || ptr != p.data() + p.size() || port > 65535)
        throw std::invalid_argument("bad port in '" + text + "'");
    return Endpoint{host, static_cast<std::uint16_t>(port)};
}

std::filesystem::path Config::path(const std::string& relative) const {
    std::filesystem::path p(relative);
    return p.is_absolute() ? p : data_dir / p;
}

std::filesystem::path Config::database_path() const { return path(database); }

namespace {

// A key of the wrong type or value; load_config names the file.
struct ValueError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

[[noreturn]] void bad_value(const toml::node& node, std::string_view key, std::string_view what) {
    throw ValueError("line " + std::to_string(node.source().begin.line) + ": " + std::string(key) +
                     " must be " + std::string(what));
}

// A key of another type is an error, not the default: a typo must not silently mean something
// else (`require_verified_domain = "no"` would otherwise keep the default, true; `= 0` would be
// taken as false).
template <class T>
void read(const toml::table& t, std::string_view key, T& out) {
    const toml::node* node = t.get(key);
    if (node == nullptr) return;
    auto v = node->value_exact<T>();
    if (!v) bad_value(*node, key, std::is_same_v<T, bool> ? "true or false" : "a string");
    out = *v;
}

template <class T>
void read_uint(const toml::table& t, std::string_view key, T& out) {
    const toml::node* node = t.get(key);
    if (node == nullptr) return;
    auto v = node->value_exact<std::int64_t>();
    if (!v || *v < 0 || static_cast<std::uint64_t>(*v) > std::numeric_limits<T>::max())
        bad_value(*node, key,
                  "a whole number from 0 to " + std::to_string(std::numeric_limits<T>::max()));
    out = static_cast<T>(*v);
}

void read_endpoint(const toml::table& t, std::string_view key, Endpoint& out) {
    std::string text;
    read(t, key, text);
    if (text.empty()) return;
    try {
        out = parse_endpoint(text);
    } catch (const std::invalid_argument& e) {
        throw ValueError(std::string(key) + ": " + e.what());
    }
}

void read_sections(const toml::table& root, Config& c, const std::filesystem::path& file);
toml::table to_toml(const Config& c);

// Every key the file has must be one we know: a misspelt key would otherwise be ignored in
// silence. The known keys are those save_config writes (the optional listeners included);
// the entries under [outbound.routes] are domains, not keys.
void check_known_keys(const toml::table& root) {
    Config every;
    every.submission.listen = Endpoint{};
    every.submission.tls_listen = Endpoint{};
    const toml::table known = to_toml(every);
    for (const auto& [key, node] : root) {
        const toml::node* reference = known.get(key.str());
        auto unknown = [&](std::string_view name, const toml::node& at) {
            throw ValueError("line " + std::to_string(at.source().begin.line) + ": unknown key " +
                             std::string(name));
        };
        if (reference == nullptr) unknown(key.str(), node);
        const toml::table* section = node.as_table();
        const toml::table* known_section = reference->as_table();
        if ((section == nullptr) != (known_section == nullptr))
            bad_value(node, key.str(), known_section ? "a table ([section])" : "a single value");
        if (section == nullptr) continue;
        for (const auto& [name, value] : *section)
            if (!known_section->contains(name.str()))
                unknown(std::string(key.str()) + "." + std::string(name.str()), value);
    }
}

}  // namespace

Config load_config(const std::filesystem::path& data_dir) {
    Config c;
    c.data_dir = std::filesystem::absolute(data_dir);
    auto file = c.data_dir / kConfigFileName;
    if (!std::filesystem::exists(file))
        throw std::runtime_error("no " + file.string() + " (run `postern init " +
                                 data_dir.string() + "` first)");
    toml::table root;
    try {
        root = toml::parse_file(file.string());
    } catch (const toml::parse_error& e) {
        throw std::runtime_error(file.string() + ": " + std::string(e.description()));
    }
    try {
        check_known_keys(root);
        read_sections(root, c, file);
    } catch (const ValueError& e) {
        throw std::runtime_error(file.string() + ": " + e.what());
    }
    return c;
}

namespace {

void read_sections(const toml::table& root, Config& c, const std::filesystem::path& file) {
    read(root, "hostname", c.hostname);
    if (auto name = normalize_domain(c.hostname))
        c.hostname = std::move(*name);
    else
        throw ValueError("hostname must be a host name (letters, digits, hyphens and dots)");
    read(root, "database", c.database);
    read(root, "log_level", c.log_level);
    read_uint(root, "threads", c.threads);
    if (auto tls = root["tls"].as_table()) {
        read(*tls, "cert", c.tls_cert);
        read(*tls, "key", c.tls_key);
    }
    if (auto s = root["smtp"].as_table()) {
        read_endpoint(*s, "mx_listen", c.smtp.mx_listen);
        read_uint(*s, "max_message_size", c.smtp.max_message_size);
        read_uint(*s, "max_recipients", c.smtp.max_recipients);
        read_uint(*s, "max_connections", c.smtp.max_connections);
        read_uint(*s, "max_connections_per_ip", c.smtp.max_connections_per_ip);
        read_uint(*s, "idle_timeout_seconds", c.smtp.idle_timeout_seconds);
        read_uint(*s, "max_errors", c.smtp.max_errors);
        read_uint(*s, "drain_timeout_seconds", c.smtp.drain_timeout_seconds);
        read(*s, "postmaster", c.smtp.postmaster);
        if (!c.smtp.postmaster.empty()) {
            auto address = parse_address(c.smtp.postmaster);
            if (!address)
                throw std::runtime_error(file.string() + ": smtp.postmaster is not a mail address");
            c.smtp.postmaster = address->key();
        }
        read(*s, "recipient_delimiter", c.smtp.recipient_delimiter);
        read_uint(*s, "min_free_bytes", c.smtp.min_free_bytes);
        read_uint(*s, "recipient_cache_ms", c.smtp.recipient_cache_ms);
        if (c.smtp.recipient_cache_ms > 60000)
            throw std::runtime_error(file.string() + ": smtp.recipient_cache_ms is at most 60000");
        if (c.smtp.recipient_delimiter.find_first_not_of(kAtextSpecials) != std::string::npos)
            throw std::runtime_error(file.string() +
                                     ": smtp.recipient_delimiter takes characters from " +
                                     std::string(kAtextSpecials));
    }
    if (auto a = root["api"].as_table()) {
        read_endpoint(*a, "listen", c.api.listen);
        read_uint(*a, "max_body_bytes", c.api.max_body_bytes);
        read_uint(*a, "max_header_bytes", c.api.max_header_bytes);
        read_uint(*a, "max_connections", c.api.max_connections);
        read_uint(*a, "idle_timeout_seconds", c.api.idle_timeout_seconds);
        read_uint(*a, "drain_timeout_seconds", c.api.drain_timeout_seconds);
    }
    if (auto d = root["dns"].as_table()) {
        read(*d, "servers", c.dns.servers);
        read_uint(*d, "timeout_ms", c.dns.timeout_ms);
        read_uint(*d, "tries", c.dns.tries);
        read_uint(*d, "cache_max_entries", c.dns.cache_max_entries);
    }
    if (c.dns.timeout_ms == 0 || c.dns.tries == 0)
        throw std::runtime_error(file.string() +
                                 ": dns timeout_ms and tries must be greater than zero");
    if (auto a = root["auth"].as_table()) {
        read(*a, "enabled", c.auth.enabled);
        read(*a, "dmarc_reject_action", c.auth.dmarc_reject_action);
        read_uint(*a, "spf_timeout_ms", c.auth.spf_timeout_ms);
        read(*a, "add_authentication_results", c.auth.add_authentication_results);
        read(*a, "authserv_id", c.auth.authserv_id);
    }
    if (c.auth.dmarc_reject_action != "reject" && c.auth.dmarc_reject_action != "quarantine")
        throw std::runtime_error(file.string() +
                                 ": auth dmarc_reject_action must be \"reject\" or \"quarantine\"");
    if (c.auth.spf_timeout_ms == 0)
        throw std::runtime_error(file.string() + ": auth spf_timeout_ms must be greater than zero");
    if (auto x = root["connex"].as_table()) {
        read_uint(*x, "tenant_rate_per_second", c.connex.tenant_rate_per_second);
        read_uint(*x, "tenant_burst", c.connex.tenant_burst);
        read_uint(*x, "tenant_daily_events", c.connex.tenant_daily_events);
        read_uint(*x, "ip_rate_per_second", c.connex.ip_rate_per_second);
        read_uint(*x, "ip_burst", c.connex.ip_burst);
        read_uint(*x, "max_body_bytes", c.connex.max_body_bytes);
        read_uint(*x, "preview_max_body_bytes", c.connex.preview_max_body_bytes);
        read_uint(*x, "auto_evaluate_poll_ms", c.connex.auto_evaluate_poll_ms);
        read(*x, "reasoning_endpoint", c.connex.reasoning_endpoint);
        read(*x, "reasoning_model", c.connex.reasoning_model);
        read(*x, "reasoning_api_key_file", c.connex.reasoning_api_key_file);
        read_uint(*x, "reasoning_timeout_ms", c.connex.reasoning_timeout_ms);
        read_uint(*x, "reasoning_max_tokens", c.connex.reasoning_max_tokens);
    }
    if (!c.connex.reasoning_endpoint.empty() &&
        !c.connex.reasoning_endpoint.starts_with("http://") &&
        !c.connex.reasoning_endpoint.starts_with("https://"))
        throw std::runtime_error(file.string() +
                                 ": connex reasoning_endpoint must be an http:// or https:// URL");
    if (c.connex.reasoning_timeout_ms == 0 || c.connex.reasoning_max_tokens == 0)
        throw std::runtime_error(
            file.string() + ": connex reasoning_timeout_ms and reasoning_max_tokens must be > 0");
    if (c.connex.auto_evaluate_poll_ms == 0)
        throw std::runtime_error(file.string() + ": connex auto_evaluate_poll_ms must be > 0");
    if (auto sub = root["submission"].as_table()) {
        if (auto v = (*sub)["listen"].value<std::string>(); v && !v->empty())
            c.submission.listen = parse_endpoint(*v);
        if (auto v = (*sub)["tls_listen"].value<std::string>(); v && !v->empty())
            c.submission.tls_listen = parse_endpoint(*v);
        read_uint(*sub, "max_auth_failures", c.submission.max_auth_failures);
    }
    if (auto o = root["outbound"].as_table()) {
        read(*o, "require_verified_domain", c.outbound.require_verified_domain);
        read_uint(*o, "max_message_bytes", c.outbound.max_message_bytes);
        if (auto arr = (*o)["retry_schedule_seconds"].as_array()) {
            c.outbound.retry_schedule_seconds.clear();
            for (const auto& n : *arr) {
                auto v = n.value<std::int64_t>();
                if (!v || *v <= 0)
                    throw std::runtime_error(file.string() +
                                             ": outbound retry_schedule_seconds must hold "
                                             "positive whole numbers");
                c.outbound.retry_schedule_seconds.push_back(static_cast<std::uint32_t>(*v));
            }
        }
        read_uint(*o, "retry_interval_seconds", c.outbound.retry_interval_seconds);
        read_uint(*o, "max_lifetime_seconds", c.outbound.max_lifetime_seconds);
        read_uint(*o, "delay_dsn_after_seconds", c.outbound.delay_dsn_after_seconds);
        read_uint(*o, "mx_port", c.outbound.mx_port);
        if (auto routes = (*o)["routes"].as_table()) {
            for (const auto& [k, v] : *routes) {
                auto text = v.value<std::string>();
                if (!text)
                    throw std::runtime_error(file.string() +
                                             ": outbound.routes values are "
                                             "\"host:port\" strings");
                std::string domain(k.str());
                for (char& ch : domain)
                    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
                c.outbound.routes[domain] = parse_endpoint(*text);
            }
        }
        read_uint(*o, "max_concurrent", c.outbound.max_concurrent);
        read_uint(*o, "max_per_destination", c.outbound.max_per_destination);
        read_uint(*o, "connect_timeout_ms", c.outbound.connect_timeout_ms);
        read_uint(*o, "command_timeout_ms", c.outbound.command_timeout_ms);
        read_uint(*o, "poll_ms", c.outbound.poll_ms);
        read(*o, "opportunistic_tls", c.outbound.opportunistic_tls);
        read_uint(*o, "connection_cache_ms", c.outbound.connection_cache_ms);
        read_uint(*o, "connection_reuse_limit", c.outbound.connection_reuse_limit);
    }
    if (c.outbound.retry_interval_seconds == 0 || c.outbound.max_concurrent == 0 ||
        c.outbound.max_per_destination == 0 || c.outbound.poll_ms == 0 || c.outbound.mx_port == 0 ||
        c.outbound.max_message_bytes == 0 || c.outbound.connection_reuse_limit == 0)
        throw std::runtime_error(file.string() + ": outbound limits must be greater than zero");
    if (c.smtp.max_recipients == 0 || c.smtp.max_connections == 0 ||
        c.smtp.max_connections_per_ip == 0 || c.smtp.max_message_size == 0)
        throw std::runtime_error(file.string() + ": smtp limits must be greater than zero");
}

}  // namespace

namespace {

toml::table to_toml(const Config& c) {
    toml::table root{
        {"hostname", c.hostname},
        {"database", c.database},
        {"log_level", c.log_level},
        {"threads", static_cast<std::int64_t>(c.threads)},
        {"tls", toml::table{{"cert", c.tls_cert}, {"key", c.tls_key}}},
        {"smtp",
         toml::table{
             {"mx_listen", c.smtp.mx_listen.str()},
             {"max_message_size", static_cast<std::int64_t>(c.smtp.max_message_size)},
             {"max_recipients", static_cast<std::int64_t>(c.smtp.max_recipients)},
             {"max_connections", static_cast<std::int64_t>(c.smtp.max_connections)},
             {"max_connections_per_ip", static_cast<std::int64_t>(c.smtp.max_connections_per_ip)},
             {"idle_timeout_seconds", static_cast<std::int64_t>(c.smtp.idle_timeout_seconds)},
             {"max_errors", static_cast<std::int64_t>(c.smtp.max_errors)},
             {"drain_timeout_seconds", static_cast<std::int64_t>(c.smtp.drain_timeout_seconds)},
             {"postmaster", c.smtp.postmaster},
             {"recipient_delimiter", c.smtp.recipient_delimiter},
             {"min_free_bytes", static_cast<std::int64_t>(c.smtp.min_free_bytes)},
             {"recipient_cache_ms", static_cast<std::int64_t>(c.smtp.recipient_cache_ms)},
         }},
        {"api",
         toml::table{
             {"listen", c.api.listen.str()},
             {"max_body_bytes", static_cast<std::int64_t>(c.api.max_body_bytes)},
             {"max_header_bytes", static_cast<std::int64_t>(c.api.max_header_bytes)},
             {"max_connections", static_cast<std::int64_t>(c.api.max_connections)},
             {"idle_timeout_seconds", static_cast<std::int64_t>(c.api.idle_timeout_seconds)},
             {"drain_timeout_seconds", static_cast<std::int64_t>(c.api.drain_timeout_seconds)},
         }},
        {"dns",
         toml::table{
             {"servers", c.dns.servers},
             {"timeout_ms", static_cast<std::int64_t>(c.dns.timeout_ms)},
             {"tries", static_cast<std::int64_t>(c.dns.tries)},
             {"cache_max_entries", static_cast<std::int64_t>(c.dns.cache_max_entries)},
         }},
    };
    root.insert("auth", toml::table{
                            {"enabled", c.auth.enabled},
                            {"dmarc_reject_action", c.auth.dmarc_reject_action},
                            {"spf_timeout_ms", static_cast<std::int64_t>(c.auth.spf_timeout_ms)},
                            {"add_authentication_results", c.auth.add_authentication_results},
                            {"authserv_id", c.auth.authserv_id},
                        });
    root.insert(
        "connex",
        toml::table{
            {"tenant_rate_per_second", static_cast<std::int64_t>(c.connex.tenant_rate_per_second)},
            {"tenant_burst", static_cast<std::int64_t>(c.connex.tenant_burst)},
            {"tenant_daily_events", static_cast<std::int64_t>(c.connex.tenant_daily_events)},
            {"ip_rate_per_second", static_cast<std::int64_t>(c.connex.ip_rate_per_second)},
            {"ip_burst", static_cast<std::int64_t>(c.connex.ip_burst)},
            {"max_body_bytes", static_cast<std::int64_t>(c.connex.max_body_bytes)},
            {"preview_max_body_bytes", static_cast<std::int64_t>(c.connex.preview_max_body_bytes)},
            {"auto_evaluate_poll_ms", static_cast<std::int64_t>(c.connex.auto_evaluate_poll_ms)},
            {"reasoning_endpoint", c.connex.reasoning_endpoint},
            {"reasoning_model", c.connex.reasoning_model},
            {"reasoning_api_key_file", c.connex.reasoning_api_key_file},
            {"reasoning_timeout_ms", static_cast<std::int64_t>(c.connex.reasoning_timeout_ms)},
            {"reasoning_max_tokens", static_cast<std::int64_t>(c.connex.reasoning_max_tokens)},
        });
    toml::table submission{
        {"max_auth_failures", static_cast<std::int64_t>(c.submission.max_auth_failures)}};
    if (c.submission.listen) submission.insert("listen", c.submission.listen->str());
    if (c.submission.tls_listen) submission.insert("tls_listen", c.submission.tls_listen->str());
    root.insert("submission", std::move(submission));
    toml::array schedule;
    for (auto s : c.outbound.retry_schedule_seconds)
        schedule.push_back(static_cast<std::int64_t>(s));
    toml::table routes;
    for (const auto& [domain, ep] : c.outbound.routes) routes.insert(domain, ep.str());
    root.insert(
        "outbound",
        toml::table{
            {"require_verified_domain", c.outbound.require_verified_domain},
            {"max_message_bytes", static_cast<std::int64_t>(c.outbound.max_message_bytes)},
            {"retry_schedule_seconds", std::move(schedule)},
            {"retry_interval_seconds",
             static_cast<std::int64_t>(c.outbound.retry_interval_seconds)},
            {"max_lifetime_seconds", static_cast<std::int64_t>(c.outbound.max_lifetime_seconds)},
            {"delay_dsn_after_seconds",
             static_cast<std::int64_t>(c.outbound.delay_dsn_after_seconds)},
            {"mx_port", static_cast<std::int64_t>(c.outbound.mx_port)},
            {"routes", std::move(routes)},
            {"max_concurrent", static_cast<std::int64_t>(c.outbound.max_concurrent)},
            {"max_per_destination", static_cast<std::int64_t>(c.outbound.max_per_destination)},
            {"connect_timeout_ms", static_cast<std::int64_t>(c.outbound.connect_timeout_ms)},
            {"command_timeout_ms", static_cast<std::int64_t>(c.outbound.command_timeout_ms)},
            {"poll_ms", static_cast<std::int64_t>(c.outbound.poll_ms)},
            {"opportunistic_tls", c.outbound.opportunistic_tls},
            {"connection_cache_ms", static_cast<std::int64_t>(c.outbound.connection_cache_ms)},
            {"connection_reuse_limit",
             static_cast<std::int64_t>(c.outbound.connection_reuse_limit)},
        });
    return root;
}

}  // namespace

void save_config(const Config& c) {
    const toml::table root = to_toml(c);
    std::ostringstream text;
    text << "# Postern configuration. Relative paths are inside this directory.\n"
         << "# See docs/configuration.md for every key.\n\n"
         << root << "\n";
    // 0600: it may name key files and tokens' endpoints; the data directory is private anyway.
    if (auto w = write_file_atomically(c.data_dir / kConfigFileName, text.str(), 0600); !w)
        throw std::runtime_error(w.error().message());
}

std::filesystem::path resolve_data_dir(const std::string& flag) {
    if (!flag.empty()) return flag;
    if (const char* env = std::getenv("POSTERN_DATA"); env && *env) return env;
    throw std::runtime_error("no data directory: pass --data DIR or set POSTERN_DATA");
}

}  // namespace postern
