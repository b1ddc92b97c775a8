// postern: the admin CLI. Every change is one transaction with its audit row; errors are one
// line on stderr and a non-zero exit.
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <stdexcept>

#include "common/address.hpp"
#include "common/ascii.hpp"
#include "common/config.hpp"
#include "common/scopes.hpp"
#include "common/time.hpp"
#include "dns/domain_check_run.hpp"
#include "dns/onboarding.hpp"
#include "queue.hpp"
#include "self_signed.hpp"
#include "storage/connex_repo.hpp"
#include "storage/database.hpp"
#include "storage/migrations.hpp"
#include "storage/repos.hpp"

namespace fs = std::filesystem;
using namespace postern;

namespace {

// Thrown for user-facing failures; main prints the message alone.
struct CliError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

template <class T>
T must(Result<T> r) {
    if (!r) throw CliError(r.error().message());
    if constexpr (!std::is_void_v<T>) return std::move(*r);
}

struct Context {
    Config config;
    std::unique_ptr<storage::Database> db;
    storage::Tenant tenant;
};

Context open_data(const std::string& flag) {
    Context c;
    c.config = load_config(resolve_data_dir(flag));
    c.db = must(storage::Database::open(c.config.database_path()));
    must(storage::migrate(*c.db));
    auto t = must(storage::default_tenant(*c.db));
    if (!t) throw CliError("the database has no tenant; was it made by `postern init`?");
    c.tenant = *t;
    return c;
}

// Runs `fn` and the audit row in one write transaction.
template <class Fn>
auto in_tx(Context& c, Fn fn) {
    auto tx = must(storage::Transaction::begin(*c.db));
    auto out = fn();
    must(tx.commit());
    return out;
}

// Input echoed in an error: at most this many bytes of it.
constexpr std::size_t kEcho = 100;

// The listeners `postern init` may set besides the defaults ("" = not given).
struct InitListeners {
    std::string mx, api, submission, submissions;
};

void cmd_init(const std::string& dir, const std::string& hostname, const InitListeners& l) {
    Config c;
    c.data_dir = fs::absolute(dir);
    if (fs::exists(c.data_dir / kConfigFileName))
        throw CliError(c.data_dir.string() + " is already initialised (" + kConfigFileName +
                       " exists)");
    auto name = normalize_domain(hostname);
    if (!name)
        throw CliError("--hostname must be a host name (letters, digits, hyphens and dots), not '" +
                       printable(hostname, kEcho) + "'");
    c.hostname = *name;
    try {
        if (!l.mx.empty()) c.smtp.mx_listen = parse_endpoint(l.mx);
        if (!l.api.empty()) c.api.listen = parse_endpoint(l.api);
        if (!l.submission.empty()) c.submission.listen = parse_endpoint(l.submission);
        if (!l.submissions.empty()) c.submission.tls_listen = parse_endpoint(l.submissions);
    } catch (const std::invalid_argument& e) {
        throw CliError(e.what());
    }
    fs::create_directories(c.data_dir);
    fs::permissions(c.data_dir, fs::perms::owner_all);  // mail and token hashes are private
    // postern.toml comes last: it marks the directory as initialised, so an init that fails
    // before it (a bad database file, no room for the certificate) can simply be run again.
    cli::write_self_signed(c.hostname, c.path(c.tls_cert), c.path(c.tls_key));
    auto db = must(storage::Database::open(c.database_path()));
    must(storage::migrate(*db));
    auto tx = must(storage::Transaction::begin(*db));
    if (!must(storage::default_tenant(*db))) {  // a failed init may have made it already
        auto tenant = must(storage::create_tenant(*db, "default"));
        must(storage::append_audit(*db, tenant.id, "cli", "tenant.create", tenant.id));
    }
    must(tx.commit());
    save_config(c);
    std::cout << "Initialised " << c.data_dir.string() << "\n"
              << "  config:   " << (c.data_dir / kConfigFileName).string() << "\n"
              << "  database: " << c.database_path().string() << "\n"
              << "  tls:      " << c.path(c.tls_cert).string() << " (self-signed)\n"
              << "  mx:       " << c.smtp.mx_listen.str() << "\n"
              << "  api:      " << c.api.listen.str() << "\n";
    if (c.submission.listen)
        std::cout << "  submission (STARTTLS):    " << c.submission.listen->str() << "\n";
    if (c.submission.tls_listen)
        std::cout << "  submission (implicit TLS): " << c.submission.tls_listen->str() << "\n";
}

// The expected records of a domain, from its stored keys and token.
dns::DomainSetup domain_setup(Context& c, const storage::Domain& d) {
    dns::DomainSetup setup;
    setup.domain = d.name;
    setup.mx_host = c.config.hostname;
    setup.ownership_token = d.ownership_token.value_or("");
    for (auto& k : must(storage::list_dkim_keys(*c.db, d.id)))
        setup.keys.push_back(dns::DkimKey{k.selector, k.algorithm, "", k.public_b64});
    return setup;
}

storage::Domain find_domain_or_fail(Context& c, const std::string& name) {
    auto d = must(storage::find_tenant_domain(*c.db, c.tenant.id, name));
    if (!d) throw CliError("no domain " + name);
    return *d;
}

void cmd_domain_add(Context& c, const std::string& name, const std::string& selector) {
    if (selector.empty() || selector.size() > 40 ||
        selector.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") != std::string::npos)
        throw CliError("--selector must be 1-40 characters of a-z, 0-9 and '-'");
    // Keys are made before the transaction: RSA generation takes a while.
    auto rsa = must(dns::generate_dkim_key("rsa-sha256", selector + "-rsa"));
    auto ed = must(dns::generate_dkim_key("ed25519-sha256", selector + "-ed25519"));
    auto token = dns::new_ownership_token();
    auto d = in_tx(c, [&] {
        std::vector<storage::NewDkimKey> keys;
        for (const auto* k : {&rsa, &ed})
            keys.push_back({k->selector, k->algorithm, k->private_pem, k->public_b64});
        return must(storage::create_hosted_domain(*c.db, c.tenant.id, name, selector, token, keys,
                                                  "cli", now_ms()));
    });
    std::cout << d.id << "\n";
    std::cerr << "Added domain " << d.name << ". Publish these records, then run `postern domain "
              << "check " << d.name << "`:\n\n"
              << dns::zone_snippet(dns::expected_records(domain_setup(c, d)));
}

// Looks every record up, stores the outcome, prints a table; exit 1 unless all are ok.
int cmd_domain_check(Context& c, const std::string& name, bool json, int timeout_seconds) {
    auto d = find_domain_or_fail(c, name);
    auto results = dns::run_domain_check(c.config.dns, domain_setup(c, d),
                                         std::chrono::seconds(timeout_seconds));
    auto v = dns::verified(results);
    storage::DomainVerification rec{v.ownership, v.spf, v.dkim, dns::check_results_json(results)};
    in_tx(c, [&] {
        must(storage::record_domain_check(*c.db, d, rec, "cli", now_ms()));
        return 0;
    });
    bool all_ok = true;
    if (json) std::cout << rec.results_json << "\n";
    for (const auto& r : results) {
        all_ok = all_ok && r.status == dns::CheckStatus::ok;
        if (json) continue;
        std::cout << fmt::format("{:<9} {:<10} {} {}\n", dns::to_string(r.status),
                                 dns::to_string(r.expected.kind), dns::type_name(r.expected.type),
                                 r.expected.name);
        for (const auto& o : r.observed) std::cout << "          observed: " << o << "\n";
        if (!r.hint.empty()) std::cout << "          hint: " << r.hint << "\n";
    }
    std::cerr << d.name << ": ownership " << (v.ownership ? "verified" : "not verified") << ", SPF "
              << (v.spf ? "verified" : "not verified") << ", DKIM "
              << (v.dkim ? "verified" : "not verified")
              << (v.ownership && v.spf && v.dkim ? "; the domain may send.\n"
                                                 : "; sending from it stays off.\n");
    return all_ok ? 0 : 1;
}

void cmd_domain_records(Context& c, const std::string& name) {
    auto d = find_domain_or_fail(c, name);
    std::cout << dns::zone_snippet(dns::expected_records(domain_setup(c, d)));
}

void cmd_domain_list(Context& c) {
    auto list = must(storage::list_domains(*c.db, c.tenant.id));
    for (const auto& d : list)
        std::cout << fmt::format("{}  {}  {}  {}\n", d.id, d.name, rfc3339(d.created_at),
                                 d.can_send() ? "verified" : "unverified");
}

void cmd_mailbox_add(Context& c, const std::string& address) {
    auto m = in_tx(c, [&] {
        auto m = must(storage::create_mailbox(*c.db, c.tenant.id, address));
        must(storage::append_audit(*c.db, c.tenant.id, "cli", "mailbox.create", m.id,
                                   fmt::format(R"({{"address":"{}"}})", m.address_key)));
        return m;
    });
    std::cout << m.id << "\n";
    std::cerr << "Added mailbox " << m.address << ".\n";
}

void cmd_mailbox_list(Context& c) {
    auto connex_on = must(storage::auto_evaluate_mailboxes(*c.db, c.tenant.id));
    for (const auto& m : must(storage::list_mailboxes(*c.db, c.tenant.id))) {
        bool on = std::find(connex_on.begin(), connex_on.end(), m.id) != connex_on.end();
        std::cout << fmt::format("{}  {}  {}{}\n", m.id, m.address, rfc3339(m.created_at),
                                 on ? "  connex-auto-evaluate" : "");
    }
}

// `postern mailbox set ADDRESS --connex-auto-evaluate on|off`
void cmd_mailbox_set(Context& c, const std::string& address, const std::string& auto_evaluate) {
    if (auto_evaluate.empty()) throw CliError("nothing to set (try --connex-auto-evaluate on)");
    bool on = auto_evaluate == "on";
    auto m = in_tx(c, [&] {
        auto m = must(storage::find_mailbox(*c.db, c.tenant.id, address));
        if (!m) throw CliError("no mailbox " + address);
        must(storage::update_mailbox_auto_evaluate(*c.db, c.tenant.id, m->id, on, "cli", now_ms()));
        return *m;
    });
    std::cerr << "Connex auto-evaluation " << (on ? "on" : "off") << " for " << m.address << ".\n";
}

void cmd_token_add(Context& c, const std::string& mailbox, std::vector<std::string> scopes,
                   const std::string& label, int expires_days, const std::string& kind) {
    if (kind == "connex" && !mailbox.empty())
        throw CliError(
            "Connex API keys are tenant-wide: --mailbox cannot be used with --kind connex");
    if (has_control(label))
        throw CliError("--label must not contain control characters (it is printed by token list)");
    std::vector<std::string> flat;
    for (const auto& s : scopes)
        for (auto& part : split_scopes(s)) flat.push_back(std::move(part));
    for (const auto& s : flat)
        if (!is_known_scope(s))
            throw CliError("unknown scope '" + printable(s, kEcho) +
                           "' (see `postern token scopes`)");
    std::vector<std::string> unique;  // each scope once, in the order given
    for (auto& s : flat)
        if (std::find(unique.begin(), unique.end(), s) == unique.end())
            unique.push_back(std::move(s));
    flat = std::move(unique);
    auto created = in_tx(c, [&] {
        std::optional<std::string> mailbox_id;
        if (!mailbox.empty()) {
            auto m = must(storage::find_mailbox(*c.db, c.tenant.id, mailbox));
            if (!m) throw CliError("no mailbox " + mailbox);
            mailbox_id = m->id;
        }
        std::optional<std::int64_t> expires;
        if (expires_days > 0) expires = now_ms() + std::int64_t(expires_days) * 86400000;
        auto t = must(storage::create_token(
            *c.db, c.tenant.id, mailbox_id, flat,
            label.empty() ? std::nullopt : std::optional<std::string>(label), expires, kind));
        must(storage::log_token_created(*c.db, t.token, "cli"));
        return t;
    });
    std::cout << created.secret << "\n";
    std::cerr << "Created " << created.token.id << " (" << join_scopes(flat) << ", "
              << (mailbox.empty() ? std::string("tenant-wide") : "mailbox " + mailbox)
              << "). This is the only time the token is shown.\n";
}

void cmd_token_list(Context& c) {
    for (const auto& t : must(storage::list_tokens(*c.db, c.tenant.id))) {
        std::string state = t.revoked_at                                  ? "revoked"
                            : (t.expires_at && *t.expires_at <= now_ms()) ? "expired"
                                                                          : "active";
        std::cout << fmt::format("{}  {}  {}  {}  [{}]{}\n", t.id, t.hint, state,
                                 t.mailbox_id.value_or("tenant-wide"), join_scopes(t.scopes),
                                 t.label ? "  " + *t.label : "");
    }
}

void cmd_token_revoke(Context& c, const std::string& id) {
    if (!id.starts_with("tok_"))  // never echo what may be a secret (pst_…, cxk_…)
        throw CliError("ID is a token's id (tok_…, see `postern token list`), not its secret");
    const bool revoked = in_tx(c, [&] {
        const bool now = must(storage::revoke_token(*c.db, c.tenant.id, id));
        if (now) must(storage::log_token_revoked(*c.db, c.tenant.id, id, "cli"));
        return now;
    });
    std::cerr << (revoked ? "Revoked " + id + ".\n" : id + " was already revoked.\n");
}

// Shows a dash positional as required ("ADDRESS", not "[ADDRESS]"): it is, though CLI11 cannot
// be told so without refusing it when it arrives as a leftover.
class DashPositionalFormatter : public CLI::Formatter {
 public:
    std::string make_option_usage(const CLI::Option* opt) const override {
        return opt->get_group().empty() ? std::string() : opt->get_name(true);
    }
    // The hidden list of further operands (add_dash_positional) would leave a trailing space.
    std::string make_usage(const CLI::App* app, std::string name) const override {
        std::string usage = CLI::Formatter::make_usage(app, std::move(name));
        const auto end = usage.find_last_not_of(" \n");
        if (end != std::string::npos) usage.replace(end + 1, std::string::npos, "\n");
        return usage;
    }
};

// CLI11 reads every argument that starts with '-' as an option, but a mailbox's local part may
// start with one (-team@example.com: '-' is atext, RFC 5322 §3.2.3), and a domain given so
// deserves "invalid domain", not "NAME is required". These subcommands keep the arguments that
// name none of their options (allow_extras); after parsing, one such argument (starting with a
// single '-') stands for the positional when it was not given otherwise, and anything else left
// over is a usage error. Operands past the positional go to a hidden list: while it is empty,
// CLI11 keeps a "--" and what follows in this subcommand (without it, once the positional was
// given, CLI11 handed them back to the parent, where "x@example.com -- -h" printed help).
CLI::Option* add_dash_positional(CLI::App* sub, const std::string& name, std::string& value,
                                 std::vector<std::string>& rest, const std::string& help = {}) {
    sub->allow_extras();
    // Only --help: CLI11 would read -hr@example.com as -h (help, exit 0, nothing done). A -h of
    // its own before any "--", neither an address nor a domain, is help too (see below).
    sub->set_help_flag("--help", "Print this help message and exit (-h alone too)");
    sub->formatter(std::make_shared<DashPositionalFormatter>());
    auto* positional = sub->add_option(name, value, help)->option_text("TEXT REQUIRED");
    sub->add_option("rest", rest)->group("");  // hidden
    return positional;
}

// After parsing: nullopt to go on; else the exit status, with the help on
// stdout (0) or CLI11's wording of a usage error on stderr (2).
std::optional<int> settle_dash_positional(const CLI::App& app, const CLI::App* sub,
                                          const std::string& name, std::string& value,
                                          const std::vector<std::string>& rest) {
    if (!*sub) return std::nullopt;
    auto extras = sub->remaining();
    // Before a "--" only: after it, -h would be an operand.
    const auto end_of_options = std::ranges::find(extras, "--");
    if (std::find(extras.begin(), end_of_options, "-h") != end_of_options) {
        std::cout << app.help();  // from the top, to name the whole command
        return 0;
    }
    std::erase(extras, "--");  // kept by allow_extras; it only ended the options
    // A leftover "--name" is a mistyped option, not an address or a domain.
    if (value.empty() && extras.size() == 1 && !extras.front().starts_with("--")) {
        value = extras.front();
        extras.clear();
    }
    extras.insert(extras.end(), rest.begin(), rest.end());
    if (!extras.empty()) {
        std::cerr << "The following arguments were not expected:";
        for (const auto& e : extras) std::cerr << " " << e;
        std::cerr << "\nRun with --help for more information.\n";
        return 2;
    }
    if (value.empty()) {
        std::cerr << name << " is required\nRun with --help for more information.\n";
        return 2;
    }
    return std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
    umask(077);  // the database, keys and config are readable by the owner only
    CLI::App app{"postern: administer a Postern mail server"};
    app.require_subcommand(1);
    std::string data;
    app.add_option("--data", data, "data directory (default: $POSTERN_DATA)");

    std::string init_dir, hostname = "localhost";
    InitListeners init_listen;
    auto* init = app.add_subcommand("init", "create a data directory: config, database, TLS cert");
    init->add_option("DIR", init_dir, "data directory to create")->required();
    init->add_option("--hostname", hostname, "this server's host name (EHLO, Received, TLS)");
    init->add_option("--mx-listen", init_listen.mx,
                     "MX listener ADDR:PORT (default 127.0.0.1:2525)");
    init->add_option("--api-listen", init_listen.api,
                     "REST listener ADDR:PORT (default 127.0.0.1:8025)");
    init->add_option("--submission-listen", init_listen.submission,
                     "submission listener with STARTTLS, ADDR:PORT (587 in production; "
                     "default: none)");
    init->add_option("--submissions-listen", init_listen.submissions,
                     "submission listener with implicit TLS, ADDR:PORT (465 in production; "
                     "default: none)");

    // Operands past a dash positional (settle_dash_positional); only one subcommand runs.
    std::vector<std::string> rest;
    std::string name;
    auto* domain = app.add_subcommand("domain", "hosted domains")->require_subcommand(1);
    auto* domain_add = domain->add_subcommand("add", "host a domain");
    add_dash_positional(domain_add, "NAME", name, rest);
    std::string selector = "postern";
    domain_add->add_option("--selector", selector,
                           "DKIM selector base: keys are <base>-rsa and <base>-ed25519");
    auto* domain_list = domain->add_subcommand("list", "list hosted domains");
    auto* domain_records =
        domain->add_subcommand("records", "print the DNS records to publish (BIND zone lines)");
    add_dash_positional(domain_records, "NAME", name, rest);
    bool check_json = false;
    int check_timeout = 30;
    auto* domain_check =
        domain->add_subcommand("check", "look the records up in DNS; exit 1 unless all are ok");
    add_dash_positional(domain_check, "NAME", name, rest);
    domain_check->add_flag("--json", check_json, "print the results as JSON");
    domain_check->add_option("--timeout", check_timeout, "seconds for all lookups (default 30)")
        ->check(CLI::Range(1, 3600).description("from 1 to 3600"));

    std::string address;
    auto* mailbox = app.add_subcommand("mailbox", "mailboxes")->require_subcommand(1);
    auto* mailbox_add = mailbox->add_subcommand("add", "create a mailbox in a hosted domain");
    add_dash_positional(mailbox_add, "ADDRESS", address, rest);
    auto* mailbox_list = mailbox->add_subcommand("list", "list mailboxes");
    std::string connex_auto;
    auto* mailbox_set = mailbox->add_subcommand("set", "change a mailbox's settings");
    add_dash_positional(mailbox_set, "ADDRESS", address, rest, "the mailbox (address or id)");
    mailbox_set
        ->add_option("--connex-auto-evaluate", connex_auto,
                     "evaluate inbound mail with Connex automatically")
        ->check(CLI::IsMember({"on", "off"}));

    std::string token_mailbox, label, token_id;
    std::vector<std::string> scopes;
    int expires_days = 0;
    std::string token_kind = "mailbox";
    auto* token = app.add_subcommand("token", "API tokens")->require_subcommand(1);
    auto* token_add = token->add_subcommand("add", "create a token (printed once)");
    token_add->add_option("--mailbox", token_mailbox,
                          "bind the token to one mailbox (address or id)");
    token_add->add_option("--scope", scopes, "a scope; repeat for several")->required();
    token_add->add_option("--label", label, "a note to recognise the token by");
    token_add
        ->add_option("--kind", token_kind,
                     "mailbox (pst_…, the /v1 API) or connex (cxk_live_…, a Connex API key)")
        ->check(CLI::IsMember({"mailbox", "connex"}));
    token_add->add_option("--expires-days", expires_days, "expire after N days")
        ->check(CLI::Range(1, 36500).description("from 1 to 36500"));
    auto* token_list = token->add_subcommand("list", "list tokens (never their secrets)");
    auto* token_revoke = token->add_subcommand("revoke", "revoke a token now");
    token_revoke->add_option("ID", token_id)->required();
    auto* token_scopes = token->add_subcommand("scopes", "list the scopes a token may carry");

    std::string delivery_id;
    bool queue_all = false;
    std::size_t queue_limit = 100;
    auto* queue = app.add_subcommand("queue", "the outbound queue")->require_subcommand(1);
    auto* queue_list = queue->add_subcommand("list", "deliveries waiting (queued or deferred)");
    queue_list->add_flag("--all", queue_all, "include delivered, bounced and cancelled ones");
    queue_list->add_option("--limit", queue_limit, "at most N rows (default 100)")
        ->check(CLI::Range(1, 100000).description("from 1 to 100000"));
    auto* queue_show = queue->add_subcommand("show", "one delivery in full");
    queue_show->add_option("ID", delivery_id)->required();
    auto* queue_retry = queue->add_subcommand("retry", "make a waiting delivery due now");
    queue_retry->add_option("ID", delivery_id)->required();
    auto* queue_delete = queue->add_subcommand("delete", "cancel a waiting delivery");
    queue_delete->add_option("ID", delivery_id)->required();

    std::string send_from;
    std::vector<std::string> send_to;
    auto* send = app.add_subcommand(
        "send", "queue a message read from stdin, like sendmail -t (Bcc is removed)");
    send->add_option("--from", send_from, "the sending mailbox (address or id)")->required();
    send->add_option("--to", send_to,
                     "a recipient; repeat for several (default: the To, Cc and Bcc headers)");

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        // --help exits 0; every usage error 2, whatever CLI11's own code for it.
        return app.exit(e) == 0 ? 0 : 2;
    }
    for (auto [sub, what, value] : {std::tuple{domain_add, "NAME", &name},
                                    {domain_records, "NAME", &name},
                                    {domain_check, "NAME", &name},
                                    {mailbox_add, "ADDRESS", &address},
                                    {mailbox_set, "ADDRESS", &address}})
        if (auto status = settle_dash_positional(app, sub, what, *value, rest)) return *status;
    try {
        if (*init) {
            cmd_init(init_dir, hostname, init_listen);
            return 0;
        }
        if (*token_scopes) {
            for (auto s : known_scopes()) std::cout << s << "\n";
            return 0;
        }
        Context c = open_data(data);
        if (*domain_add)
            cmd_domain_add(c, name, selector);
        else if (*domain_records)
            cmd_domain_records(c, name);
        else if (*domain_check)
            return cmd_domain_check(c, name, check_json, check_timeout);
        else if (*domain_list)
            cmd_domain_list(c);
        else if (*mailbox_add)
            cmd_mailbox_add(c, address);
        else if (*mailbox_list)
            cmd_mailbox_list(c);
        else if (*mailbox_set)
            cmd_mailbox_set(c, address, connex_auto);
        else if (*token_add)
            cmd_token_add(c, token_mailbox, scopes, label, expires_days, token_kind);
        else if (*token_list)
            cmd_token_list(c);
        else if (*token_revoke)
            cmd_token_revoke(c, token_id);
        else if (*queue_list)
            cli::queue_list(*c.db, c.tenant, queue_all, queue_limit);
        else if (*queue_show)
            cli::queue_show(*c.db, c.tenant, delivery_id);
        else if (*queue_retry)
            cli::queue_retry(*c.db, c.tenant, delivery_id);
        else if (*queue_delete)
            cli::queue_delete(*c.db, c.tenant, delivery_id);
        else if (*send)
            cli::send(c.config, *c.db, c.tenant, send_from, send_to, std::cin);
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "postern: " << e.what() << "\n";
        return 1;
    }
}
