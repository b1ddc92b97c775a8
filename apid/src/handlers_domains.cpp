// Domain onboarding over REST (admin tokens only; the access table refuses mailbox tokens):
// create a domain with its DKIM keys and ownership token (as `postern domain add`), list and show
// domains, the records to publish (JSON, or a BIND zone snippet), and a live verification through
// our c-ares resolver (as `postern domain check`: dns::run_domain_check). Key generation and
// lookups block, so they run as Response::blocking work on the server's worker pool.
// Private keys never leave storage: no response carries them.
#include <boost/json.hpp>
#include <memory>

#include "apid/problem.hpp"
#include "apid/serialize.hpp"
#include "common/address.hpp"
#include "common/log.hpp"
#include "common/time.hpp"
#include "dns/domain_check_run.hpp"
#include "dns/onboarding.hpp"
#include "handlers.hpp"
#include "idempotency.hpp"
#include "json_body.hpp"
#include "storage/events.hpp"

namespace postern::api {

namespace json = boost::json;

namespace {

constexpr std::string_view kCreateRoute = "POST /v1/domains";

bool valid_selector(std::string_view s) {
    return !s.empty() && s.size() <= 40 &&
           s.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") == std::string_view::npos;
}

// The expected records of a domain from its stored public keys and token (the glue between
// storage and dns, the same as the CLI's).
Result<dns::DomainSetup> domain_setup(storage::Database& db, const storage::Domain& d,
                                      const std::string& mx_host) {
    dns::DomainSetup setup;
    setup.domain = d.name;
    setup.mx_host = mx_host;
    setup.ownership_token = d.ownership_token.value_or("");
    auto keys = storage::list_dkim_keys(db, d.id);
    if (!keys) return tl::unexpected(keys.error());
    for (auto& k : *keys)
        setup.keys.push_back(dns::DkimKey{k.selector, k.algorithm, "", k.public_b64});
    return setup;
}

json::object domain_json(const storage::Domain& d) {
    json::object o;
    o["id"] = d.id;
    o["name"] = d.name;
    o["created_at"] = rfc3339(d.created_at);
    o["dkim_selector"] = d.dkim_selector;
    o["verified"] = json::object{{"ownership", timestamp_or_null(d.ownership_verified_at)},
                                 {"spf", timestamp_or_null(d.spf_verified_at)},
                                 {"dkim", timestamp_or_null(d.dkim_verified_at)}};
    o["can_send"] = d.can_send();
    o["checked_at"] = timestamp_or_null(d.checked_at);
    o["records_url"] = "/v1/domains/" + d.id + "/records";
    return o;
}

json::array records_json(const std::vector<dns::ExpectedRecord>& records) {
    json::array out;
    for (const auto& r : records) {
        json::object o{{"kind", dns::to_string(r.kind)},
                       {"name", r.name},
                       {"type", dns::type_name(r.type)},
                       {"value", r.value}};
        if (!r.selector.empty()) o["selector"] = r.selector;
        out.push_back(std::move(o));
    }
    return out;
}

tl::expected<storage::Domain, Response> find_domain_param(const Context& c) {
    const std::string& id = c.params.get("id");
    auto d = storage::find_tenant_domain(c.db, c.token->tenant_id, id);
    if (!d) return tl::unexpected(storage_failure(d.error(), "find_tenant_domain"));
    if (!*d) return tl::unexpected(not_found("no such domain"));
    return std::move(**d);
}

}  // namespace

Response handle_create_domain(const Context& c) {
    if (auto errors = reject_params(c.target.query); !errors.empty()) return bad_request(errors);
    auto key = begin_idempotent(c, kCreateRoute);
    if (!key) return std::move(key.error());
    if (c.request.body.size() > 64 * 1024) return problem(413, "the request body is too large");
    auto parsed = parse_json(c.request.body);
    if (!parsed) return bad_request({{"body", parsed.error()}});
    json::value body = std::move(*parsed);
    if (!body.is_object()) return bad_request({{"body", "must be a JSON object"}});
    std::string name, selector = "postern";
    std::vector<FieldError> shape, semantic;
    for (const auto& kv : body.get_object()) {
        const bool field = kv.key() == "name" || kv.key() == "dkim_selector";
        if (field && kv.value().is_null()) continue;  // the same as left out (docs/api.md)
        if (kv.key() == "name" && kv.value().is_string())
            name = kv.value().get_string();
        else if (kv.key() == "dkim_selector" && kv.value().is_string())
            selector = kv.value().get_string();
        else if (field)
            shape.push_back({std::string(kv.key()), "must be a string"});
        else
            shape.push_back({std::string(kv.key()), "is not a field of this request"});
    }
    if (!shape.empty()) return bad_request(std::move(shape));
    auto normalized = normalize_domain(name);
    if (name.empty() || !normalized || !is_hostable_domain(*normalized))
        semantic.push_back({"name", "must be a domain name such as example.com"});
    if (!valid_selector(selector))
        semantic.push_back({"dkim_selector", "must be 1-40 characters of a-z, 0-9 and '-'"});
    if (!semantic.empty())
        return problem(422, semantic.front().field + ": " + semantic.front().message, semantic);

    std::string tenant = c.token->tenant_id, actor = c.token->id, domain = *normalized;
    std::string mx_host = c.mail.hostname;
    std::int64_t now = c.now;
    auto idem = std::make_shared<std::optional<IdempotencyKey>>(std::move(*key));
    Response r;
    // RSA-2048 generation takes a noticeable time: off the io thread, before the transaction.
    r.blocking = std::make_shared<std::function<Response()>>([=]() -> Response {
        auto rsa = dns::generate_dkim_key("rsa-sha256", selector + "-rsa");
        auto ed = dns::generate_dkim_key("ed25519-sha256", selector + "-ed25519");
        if (!rsa || !ed) return storage_failure(!rsa ? rsa.error() : ed.error(), "DKIM keygen");
        auto token = dns::new_ownership_token();
        auto keys = std::make_shared<std::vector<dns::DkimKey>>(
            std::vector<dns::DkimKey>{std::move(*rsa), std::move(*ed)});
        return idempotent_write(
            std::move(*idem),
            [=](storage::Database& db) -> Result<JsonReply> {
                std::vector<storage::NewDkimKey> rows;
                for (const auto& k : *keys)
                    rows.push_back({k.selector, k.algorithm, k.private_pem, k.public_b64});
                auto d = storage::create_hosted_domain(db, tenant, domain, selector, token, rows,
                                                       actor, now);
                if (!d && d.error().code() == Errc::conflict) {
                    // Nothing written; not stored under the key (only 2xx are).
                    return JsonReply{409,
                                     problem(409, "the domain " + domain + " already exists").body,
                                     "application/problem+json"};
                }
                if (!d) return tl::unexpected(d.error());
                auto setup = domain_setup(db, *d, mx_host);
                if (!setup) return tl::unexpected(setup.error());
                auto records = dns::expected_records(*setup);
                json::object o = domain_json(*d);
                o["records"] = records_json(records);
                o["zone"] = dns::zone_snippet(records);
                return JsonReply{201, json::serialize(o)};
            },
            "create domain", now);
    });
    return r;
}

Response handle_list_domains(const Context& c) {
    auto list = storage::list_domains(c.db, c.token->tenant_id);
    if (!list) return storage_failure(list.error(), "list_domains");
    auto page = page_short_list(c, std::move(*list), 'd', c.token->tenant_id, "dom", domain_json);
    if (!page) return std::move(page.error());
    return json_response(200, *page);
}

Response handle_get_domain(const Context& c) {
    if (auto errors = reject_params(c.target.query); !errors.empty()) return bad_request(errors);
    auto d = find_domain_param(c);
    if (!d) return std::move(d.error());
    json::object o = domain_json(*d);
    json::value last = nullptr;
    if (d->last_check_json) {
        boost::system::error_code ec;
        last = json::parse(*d->last_check_json, ec);
        if (ec) last = nullptr;
    }
    o["last_check"] = std::move(last);
    return json_response(200, o);
}

Response handle_domain_records(const Context& c) {
    std::string format = "json";
    std::vector<FieldError> errors;
    for (const auto& [k, v] : c.target.query) {
        if (k == "format" && (v == "json" || v == "zone"))
            format = v;
        else if (k == "format")
            errors.push_back({"format", "must be json or zone"});
        else
            errors.push_back({k, "is not a parameter of this route"});
    }
    if (!errors.empty()) return bad_request(std::move(errors));
    auto d = find_domain_param(c);
    if (!d) return std::move(d.error());
    auto setup = domain_setup(c.db, *d, c.mail.hostname);
    if (!setup) return storage_failure(setup.error(), "list_dkim_keys");
    auto records = dns::expected_records(*setup);
    if (format == "zone") {
        Response r;
        r.content_type = "text/plain; charset=utf-8";
        r.body = dns::zone_snippet(records);
        return r;
    }
    json::object o{{"domain_id", d->id}, {"name", d->name}, {"records", records_json(records)}};
    return json_response(200, o);
}

Response handle_verify_domain(const Context& c) {
    if (auto errors = reject_params(c.target.query); !errors.empty()) return bad_request(errors);
    // No fields: an empty body or {} (API.md: an unknown field is 400, not ignored).
    if (c.request.body.find_first_not_of(" \t\r\n") != std::string::npos) {
        auto parsed = parse_json(c.request.body);
        if (!parsed) return bad_request({{"body", parsed.error()}});
        const auto* o = parsed->if_object();
        if (o == nullptr) return bad_request({{"body", "must be a JSON object (or empty)"}});
        std::vector<FieldError> unknown;
        for (const auto& kv : *o)
            unknown.push_back({std::string(kv.key()), "is not a field of this request"});
        if (!unknown.empty()) return bad_request(std::move(unknown));
    }
    auto d = find_domain_param(c);
    if (!d) return std::move(d.error());
    auto setup = domain_setup(c.db, *d, c.mail.hostname);
    if (!setup) return storage_failure(setup.error(), "list_dkim_keys");
    auto domain = std::make_shared<storage::Domain>(std::move(*d));
    auto shared_setup = std::make_shared<dns::DomainSetup>(std::move(*setup));
    DnsConfig dns_config = c.mail.dns;
    auto timeout = std::chrono::milliseconds(c.mail.verify_timeout_ms);
    std::string actor = c.token->id;
    Response r;
    r.blocking = std::make_shared<std::function<Response()>>([=]() -> Response {
        auto results = dns::run_domain_check(dns_config, *shared_setup, timeout);
        auto v = dns::verified(results);
        auto rec = std::make_shared<storage::DomainVerification>(storage::DomainVerification{
            v.ownership, v.spf, v.dkim, dns::check_results_json(results)});
        std::int64_t now = now_ms();
        bool all_ok = true;
        for (const auto& x : results) all_ok = all_ok && x.status == dns::CheckStatus::ok;
        return deferred(
            [=](storage::Database& db) -> Result<void> {
                return storage::record_domain_check(db, *domain, *rec, actor, now);
            },
            [=](const Result<void>& w) -> Response {
                if (!w) return storage_failure(w.error(), "record_domain_check");
                boost::system::error_code ec;
                json::value records = json::parse(rec->results_json, ec);
                json::object o{{"domain_id", domain->id},
                               {"name", domain->name},
                               {"checked_at", rfc3339(now)},
                               {"ok", all_ok},
                               {"verified", json::object{{"ownership", rec->ownership},
                                                         {"spf", rec->spf},
                                                         {"dkim", rec->dkim}}},
                               {"can_send", rec->ownership && rec->spf && rec->dkim},
                               {"records", ec ? json::value(json::array()) : records}};
                return json_response(200, o);
            });
    });
    return r;
}

}  // namespace postern::api
