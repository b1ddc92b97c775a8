// The self-describing Connex routes: discovery (/.well-known/connex-agent), the contract itself
// (/api/connex/openapi), the GET that describes each POST, reasoning-provider readiness, and
// key-check. Endpoint lists are derived from the access table, and summaries and schema names
// from the embedded contract, so neither can drift from what is served.
#include <boost/json.hpp>

#include "apid/access.hpp"
#include "apid/api.hpp"
#include "apid/problem.hpp"
#include "common/scopes.hpp"
#include "connex/evaluator.hpp"
#include "connex_handlers.hpp"

namespace postern::api {

namespace json = boost::json;

namespace {

constexpr std::string_view kKeyFormat = "cxk_live_*";
constexpr std::string_view kEvaluateScope = "status:evaluate";

struct Purpose {
    std::string_view method, path, purpose;
};

constexpr Purpose kPurposes[] = {
    {"POST", "/api/connex/status", "Evaluate one communication; mapped status and operations"},
    {"POST", "/api/connex/key-check", "Validate this key and list the endpoints it enables"},
    {"POST", "/api/connex/integration-event",
     "Ingest an event: status, operation buckets, graph hints, materialization, reasoning"},
    {"POST", "/api/connex/integration-preview", "No-auth dry run: summary only, nothing stored"},
    {"POST", "/api/connex/integration-outcome", "Report what happened; the tenant's weights learn"},
    {"POST", "/api/connex/integration-insights", "Summary-only aggregates for the tenant"},
    {"POST", "/api/connex/trust", "Trust score, band, policy gates and signals for the tenant"},
    {"GET", "/api/connex/reasoning", "Reasoning-provider readiness, without secrets"},
    {"GET", "/api/connex/intelligence", "Network intelligence summary (account-gated)"},
    {"POST", "/api/connex/dispatch", "Submit an internal agent task under policy (account-gated)"},
    {"POST", "/api/connex/graph-event", "Record a relationship graph event (account-gated)"},
    {"GET", "/api/connex/service-keys", "List Connex API keys, never their secrets"},
    {"POST", "/api/connex/service-keys", "Create a Connex API key; the raw key is shown once"},
    {"GET", "/.well-known/connex-agent", "This discovery document"},
    {"GET", "/api/connex/openapi", "The OpenAPI 3.1 contract"},
};

std::string_view purpose_of(std::string_view method, std::string_view path) {
    for (const auto& p : kPurposes)
        if (p.method == method && p.path == path) return p.purpose;
    return "Describes its POST contract";
}

// Request examples shown by the describing GETs (the contract's own example values).
constexpr std::string_view kEventExample = R"({
  "app": "your-saas", "sourceSystem": "your-saas", "sourceEventId": "evt_123",
  "eventType": "inbound_reply", "applyMode": "recommend", "currentStatus": "LOI Sent",
  "sourceMailbox": {"senderIdentityOwner": "source_app", "replyPolicy": "source_app_only",
                    "externalReplyUrl": "https://your-saas.example/thread/123"},
  "message": {"subject": "Need approval before moving forward",
              "body": "Can you confirm terms before we proceed?"}})";
constexpr std::string_view kOutcomeExample = R"({
  "sourceSystem": "your-saas", "sourceOutcomeId": "out_123",
  "integrationEventId": "cxe_…", "operationId": "op_…",
  "outcomeType": "human_approved", "valueScore": 40})";
constexpr std::string_view kInsightsExample = R"({"sourceSystem": "your-saas", "limit": 20})";

const json::object& contract() {
    static const json::object doc = json::parse(connex_openapi_document()).as_object();
    return doc;
}

const json::object* contract_op(std::string_view path, std::string_view method) {
    auto* p = contract().at("paths").as_object().if_contains(path);
    if (!p) return nullptr;
    auto* op = p->as_object().if_contains(method);
    return op ? &op->as_object() : nullptr;
}

std::string_view auth_name(const AccessRule& r) {
    if (r.is_public()) return "none";
    switch (r.credential) {
        case Credential::connex_key:
            return "serviceKey";
        case Credential::admin:
            return "userSession";
        case Credential::connex_key_or_admin:
            return "serviceKey or userSession";
        case Credential::token:
            break;
    }
    return "bearer";
}

json::value scope_of(const AccessRule& r) {
    if (r.needs_scope()) return json::value(r.scope);
    return nullptr;
}

json::object limits(const ConnexOptions& o) {
    return {{"tenantRatePerSecond", o.tenant_rate_per_second},
            {"tenantBurst", o.tenant_burst},
            {"tenantDailyEvents", o.tenant_daily_events},
            {"ipRatePerSecond", o.ip_rate_per_second},
            {"ipBurst", o.ip_burst},
            {"maxBodyBytes", o.max_body_bytes},
            {"previewMaxBodyBytes", o.preview_max_body_bytes}};
}

json::array endpoints() {
    json::array out;
    for (const auto& r : access_table()) {
        if (!is_connex_route(r.pattern)) continue;
        out.push_back({{"method", r.method},
                       {"path", r.pattern},
                       {"auth", auth_name(r)},
                       {"scope", scope_of(r)},
                       {"live", true},
                       {"purpose", purpose_of(r.method, r.pattern)}});
    }
    return out;
}

std::string_view schema_name(const json::object* op, bool request) {
    if (!op) return {};
    const json::value* v = nullptr;
    if (request) {
        if (auto* b = op->if_contains("requestBody")) v = b->as_object().if_contains("content");
    } else if (auto* resp = op->if_contains("responses")) {
        if (auto* ok = resp->as_object().if_contains("200"))
            v = ok->as_object().if_contains("content");
    }
    if (!v) return {};
    auto* media = v->as_object().if_contains("application/json");
    auto* schema = media ? media->as_object().if_contains("schema") : nullptr;
    auto* ref = schema ? schema->as_object().if_contains("$ref") : nullptr;
    return ref && ref->is_string() ? std::string_view(ref->get_string()) : std::string_view{};
}

}  // namespace

Response handle_connex_discovery(const Context& c) {
    if (auto errors = reject_params(c.target.query); !errors.empty()) return bad_request(errors);
    json::object o;
    o["type"] = "connex.agent.discovery";
    o["name"] = "Postern Connex";
    o["contractVersion"] = contract().at("info").at("version");
    o["openapi"] = "/api/connex/openapi";
    o["auth"] = {{"serviceKey",
                  {{"type", "http"},
                   {"scheme", "bearer"},
                   {"header", "Authorization: Bearer cxk_live_..."},
                   {"format", kKeyFormat},
                   {"create",
                    {"postern token add --kind connex --scope status:evaluate",
                     "POST /api/connex/service-keys with a tenant-wide admin token"}},
                   {"storage", "shown once at creation; only its SHA-256 is stored"}}},
                 {"userSession",
                  {{"type", "http"},
                   {"scheme", "bearer"},
                   {"standsInFor", "the Connex web session cookie"},
                   {"credential", "a tenant-wide Postern token (pst_...) with the admin scope"}}}};
    json::array granted;
    for (const auto& r : access_table())
        if (r.scope == kEvaluateScope)
            granted.push_back(json::value(std::string(r.method) + " " + std::string(r.pattern)));
    o["scopes"] = {{{"name", kEvaluateScope}, {"grants", std::move(granted)}}};
    o["endpoints"] = endpoints();
    o["live"] = {{"preview", true},           {"statusEvaluation", true},
                 {"integrationEvents", true}, {"outcomes", true},
                 {"insights", true},          {"trust", true},
                 {"materializeSafe", true},   {"mailboxAutoEvaluation", true},
                 {"liveModel", false},        {"mcpServer", false},
                 {"webhooks", false}};
    o["limits"] = limits(c.connex.options());
    o["fastPath"] = {"GET /.well-known/connex-agent", "POST /api/connex/integration-preview",
                     "POST /api/connex/key-check", "POST /api/connex/integration-event",
                     "POST /api/connex/integration-outcome"};
    return json_response(200, o);
}

Response handle_connex_openapi(const Context& c) {
    if (auto errors = reject_params(c.target.query); !errors.empty()) return bad_request(errors);
    return Response::json(200, std::string(connex_openapi_document()));
}

Response handle_connex_describe(const Context& c) {
    if (auto errors = reject_params(c.target.query); !errors.empty()) return bad_request(errors);
    std::string path = "/";
    for (std::size_t i = 0; i < c.target.segments.size(); ++i)
        path += (i ? "/" : "") + c.target.segments[i];
    const AccessRule* rule = find_access("POST", path);
    const json::object* get = contract_op(path, "get");
    const json::object* post = contract_op(path, "post");
    if (!rule || !post) return not_found("no such Connex contract");
    json::object o;
    o["type"] = "connex.contract";
    o["endpoint"] = "POST " + path;
    o["description"] = get ? get->at("summary") : json::value(nullptr);
    o["summary"] = post->at("summary");
    o["auth"] = {{"type", auth_name(*rule)}, {"scope", scope_of(*rule)}};
    auto req = schema_name(post, true), resp = schema_name(post, false);
    o["requestSchema"] = req.empty() ? json::value(nullptr) : json::value(req);
    o["responseSchema"] = resp.empty() ? json::value(nullptr) : json::value(resp);
    json::array statuses;
    for (const auto& kv : post->at("responses").as_object())
        statuses.push_back(json::value(kv.key()));
    o["statuses"] = std::move(statuses);
    std::string_view example;
    if (path.ends_with("/integration-event") || path.ends_with("/integration-preview") ||
        path.ends_with("/status"))
        example = kEventExample;
    else if (path.ends_with("/integration-outcome"))
        example = kOutcomeExample;
    else if (path.ends_with("/integration-insights"))
        example = kInsightsExample;
    o["example"] = example.empty() ? json::value(nullptr) : json::parse(example);
    o["purpose"] = purpose_of("POST", path);
    o["limits"] = limits(c.connex.options());
    o["live"] = true;
    o["openapi"] = "/api/connex/openapi";
    return json_response(200, o);
}

Response handle_connex_reasoning(const Context& c) {
    if (auto errors = reject_params(c.target.query); !errors.empty()) return bad_request(errors);
    // Whether a live provider is configured, never where it is or with what key.
    const LiveReasoner& live = c.connex.live();
    const bool on = live.enabled();
    json::object status{
        {"provider", on ? "mundox" : "deterministic"},
        {"mode", on ? "live" : "disabled"},
        {"model", on ? live.options().model : std::string(connex::kRulesVersion)},
        {"endpointConfigured", on},
        {"liveCallsEnabled", on},
        {"timeoutMs", on ? live.options().timeout.count() : 0},
        {"specialistProfiles",
         {{{"id", "negotiation"}, {"enabled", false}, {"provider", "mundox"}}}},
        {"safetyInvariants",
         {"model guidance cannot send email", "model guidance cannot change status or buckets",
          "blocked operations stay blocked", "no prompts, endpoints or keys are exposed"}},
        {"integrationContract",
         {{"rulesVersion", connex::kRulesVersion},
          {"liveModelMayAdd", {"recommendedInstruction"}},
          {"previewMode", "dry_run"}}}};
    return json_response(200, {{"type", "connex.reasoning.status"}, {"status", std::move(status)}});
}

Response handle_connex_key_check(const Context& c) {
    if (c.request.body.size() > c.connex.options().max_body_bytes)
        return problem(413, "the request body is too large");
    const storage::Token& t = *c.token;
    json::array scopes;
    for (const auto& s : t.scopes) scopes.push_back(json::value(s));
    json::array enabled;
    for (const auto& r : access_table()) {
        if (!r.takes_connex_key()) continue;
        enabled.push_back({{"endpoint", std::string(r.method) + " " + std::string(r.pattern)},
                           {"scope", r.needs_scope() ? r.scope : std::string_view("any")},
                           {"purpose", purpose_of(r.method, r.pattern)},
                           {"enabled", !r.needs_scope() || scope_allows(t.scopes, r.scope)}});
    }
    json::object o;
    o["ok"] = true;
    o["type"] = "connex.key_check.result";
    o["caller"] = {{"type", "service_key"},
                   {"id", t.id},
                   {"tenantId", t.tenant_id},
                   {"scopes", std::move(scopes)},
                   {"hint", t.hint}};
    o["enabledEndpoints"] = std::move(enabled);
    o["recommendedMinimum"] = {{"scopes", {kEvaluateScope}},
                               {"why",
                                "status:evaluate enables event, status, outcome, insights "
                                "and trust calls"}};
    o["guarantees"] = {"the raw key is never returned or logged",
                       "keys are stored as SHA-256 hashes", "results are scoped to this tenant"};
    return json_response(200, o);
}

}  // namespace postern::api
