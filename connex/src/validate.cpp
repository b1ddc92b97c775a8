#include "connex/validate.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <initializer_list>

#include "connex/outcome.hpp"

namespace postern::connex {
namespace json = boost::json;
namespace {

class Checker {
 public:
    std::vector<FieldError> errors;

    void add(std::string field, std::string message) {
        errors.push_back({std::move(field), std::move(message)});
    }

    static std::string path(std::string_view prefix, std::string_view key) {
        return prefix.empty() ? std::string(key) : fmt::format("{}.{}", prefix, key);
    }

    // Returns the member if present and a string (within `max` bytes); records an error otherwise.
    const json::string* string(const json::object& o, std::string_view prefix, std::string_view key,
                               bool required, std::size_t max = kMaxShortString) {
        auto* v = o.if_contains(key);
        if (!v) {
            if (required) add(path(prefix, key), "is required");
            return nullptr;
        }
        if (!v->is_string()) {
            add(path(prefix, key), "must be a string");
            return nullptr;
        }
        if (v->get_string().size() > max)
            add(path(prefix, key), fmt::format("must be at most {} bytes", max));
        return &v->get_string();
    }

    void non_empty(const json::string* s, std::string_view field) {
        if (s && s->empty()) add(std::string(field), "must not be empty");
    }

    void enumerated(const json::object& o, std::string_view prefix, std::string_view key,
                    std::initializer_list<std::string_view> allowed) {
        auto* s = string(o, prefix, key, false);
        if (!s) return;
        if (std::find(allowed.begin(), allowed.end(), std::string_view(*s)) == allowed.end()) {
            std::string list;
            for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
            add(path(prefix, key), fmt::format("must be one of: {}", list));
        }
    }

    const json::object* object(const json::object& o, std::string_view prefix, std::string_view key,
                               bool required) {
        auto* v = o.if_contains(key);
        if (!v) {
            if (required) add(path(prefix, key), "is required");
            return nullptr;
        }
        if (!v->is_object()) add(path(prefix, key), "must be an object");
        return v->if_object();
    }

    void strings(const json::object* o, std::string_view prefix,
                 std::initializer_list<std::string_view> keys) {
        if (!o) return;
        for (auto k : keys) string(*o, prefix, k, false);
    }

    void num(const json::object& o, std::string_view prefix, std::string_view key) {
        auto* v = o.if_contains(key);
        if (v && !v->is_number()) add(path(prefix, key), "must be a number");
    }

    const json::value* integer(const json::object& o, std::string_view key, bool required,
                               std::int64_t lo, std::int64_t hi) {
        auto* v = o.if_contains(key);
        if (!v) {
            if (required) add(std::string(key), "is required");
            return nullptr;
        }
        auto value = json_integer(v);
        if (!value) {
            add(std::string(key), "must be an integer");
            return nullptr;
        }
        const std::int64_t n = *value;
        if (n < lo || n > hi)
            add(std::string(key), fmt::format("must be between {} and {}", lo, hi));
        return v;
    }
};

}  // namespace

std::optional<std::int64_t> json_integer(const json::value* v) {
    if (v == nullptr) return std::nullopt;
    if (v->is_int64()) return v->get_int64();
    if (v->is_uint64() && v->get_uint64() <= std::uint64_t(INT64_MAX))
        return std::int64_t(v->get_uint64());
    if (v->is_double() && std::floor(v->get_double()) == v->get_double() &&
        std::abs(v->get_double()) < 9e15)
        return static_cast<std::int64_t>(v->get_double());
    return std::nullopt;
}

namespace {

const json::object* root(const json::value& v, Checker& c) {
    if (!v.is_object()) c.add("", "the request body must be a JSON object");
    return v.if_object();
}

void status_fields(const json::object& o, Checker& c) {
    c.non_empty(c.string(o, "", "app", true), "app");
    c.string(o, "", "currentStatus", false);
    c.strings(c.object(o, "", "externalIds", false), "externalIds",
              {"accountId", "userId", "objectType", "objectId", "threadId", "messageId"});
    if (const auto* m = c.object(o, "", "message", true)) {
        c.string(*m, "message", "subject", true, kMaxSubjectBytes);
        c.string(*m, "message", "body", true, kMaxBodyBytes);
        c.string(*m, "message", "from", false);
        c.string(*m, "message", "to", false);
    }
    if (const auto* ctx = c.object(o, "", "context", false)) {
        c.string(*ctx, "context", "market", false);
        c.string(*ctx, "context", "propertyType", false);
        for (auto k : {"askingPrice", "arv", "repairs"}) c.num(*ctx, "context", k);
    }
    c.object(o, "", "workflow", false);
}

}  // namespace

std::vector<FieldError> validate_status_request(const json::value& v) {
    Checker c;
    if (const auto* o = root(v, c)) status_fields(*o, c);
    return std::move(c.errors);
}

std::vector<FieldError> validate_event_request(const json::value& v) {
    Checker c;
    const auto* o = root(v, c);
    if (!o) return std::move(c.errors);
    status_fields(*o, c);
    for (auto k : {"eventType", "sourceSystem", "sourceEventId"}) c.string(*o, "", k, false);
    c.enumerated(*o, "", "applyMode", {"recommend", "materialize_safe"});
    if (const auto* mb = c.object(*o, "", "sourceMailbox", false)) {
        c.enumerated(*mb, "sourceMailbox", "senderIdentityOwner",
                     {"connex", "source_app", "customer_domain"});
        c.enumerated(*mb, "sourceMailbox", "replyPolicy",
                     {"connex_allowed", "source_app_only", "disabled"});
        c.string(*mb, "sourceMailbox", "externalReplyUrl", false, 2048);
    }
    c.strings(c.object(*o, "", "actor", false), "actor", {"id", "type", "label"});
    c.strings(c.object(*o, "", "object", false), "object", {"id", "type", "label"});
    return std::move(c.errors);
}

std::vector<FieldError> validate_outcome_request(const json::value& v) {
    Checker c;
    const auto* o = root(v, c);
    if (!o) return std::move(c.errors);
    c.non_empty(c.string(*o, "", "sourceSystem", true), "sourceSystem");
    c.non_empty(c.string(*o, "", "sourceOutcomeId", true), "sourceOutcomeId");
    if (auto* t = c.string(*o, "", "outcomeType", true); t && !parse_outcome_type(*t))
        c.add("outcomeType", "is not a known outcome type");
    c.integer(*o, "valueScore", true, -100, 100);
    c.integer(*o, "revenueCents", false, INT64_MIN, INT64_MAX);
    c.integer(*o, "latencyMs", false, 0, INT64_MAX);
    for (auto k : {"integrationEventId", "operationId"}) c.string(*o, "", k, false);
    c.string(*o, "", "notes", false, 4096);
    c.object(*o, "", "payload", false);
    return std::move(c.errors);
}

std::vector<FieldError> validate_insights_request(const json::value& v) {
    Checker c;
    if (v.is_null()) return {};  // the body is optional
    const auto* o = root(v, c);
    if (!o) return std::move(c.errors);
    for (auto k : {"sourceSystem", "app", "objectType", "objectId"}) c.string(*o, "", k, false);
    c.integer(*o, "limit", false, 1, 100);
    return std::move(c.errors);
}

json::array to_json(const std::vector<FieldError>& errors) {
    json::array a;
    for (const auto& e : errors) a.push_back({{"field", e.field}, {"message", e.message}});
    return a;
}

}  // namespace postern::connex
