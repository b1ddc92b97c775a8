#pragma once
// The Connex evaluator: StatusEvaluationRequest / IntegrationEventRequest JSON in, the contract's
// response JSON out (seeds/003 OpenAPI). Pure and deterministic: no I/O, no clock, no randomness;
// the same request, weights and context always give the same bytes. Whatever needs storage
// (tenant, ids of persisted rows, the shadow-copy receipt) comes in through EvalContext.
// Requests must have passed validate_*_request() first; unexpected shapes are treated as absent,
// never thrown on. Any thread may call.
#include <boost/json/object.hpp>
#include <boost/json/storage_ptr.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "connex/weights.hpp"

namespace postern::connex {

inline constexpr std::string_view kRulesVersion = "connex-rules-1";
inline constexpr double kAutoApplyMinConfidence = 0.6;  // below: status moves need a human

// What apid persisted for a source-controlled mailbox copy (shadowMessage).
struct ShadowReceipt {
    bool persisted = false;
    std::string message_id;
    std::string thread_id;
};

struct EvalContext {
    std::string tenant_id;        // from the API key, never from the body
    std::string app_id;           // mapped.appId; empty: request.app
    std::string id_seed;          // seeds operation and dispatch ids; empty: a hash of the request
    std::string idempotency_key;  // integration.idempotencyKey; empty: derived from the request
    std::optional<ShadowReceipt> shadow;
    std::string reasoning_mode = "disabled";  // "disabled" | "dry_run" | "live"
};

// POST /api/connex/status → StatusEvaluationResponse. The result is allocated from `sp`.
boost::json::object evaluate_status(const boost::json::object& request,
                                    const TenantWeights& weights, const EvalContext& ctx,
                                    boost::json::storage_ptr sp = {});

// POST /api/connex/integration-event → IntegrationEventResponse.
boost::json::object evaluate_event(const boost::json::object& request, const TenantWeights& weights,
                                   const EvalContext& ctx, boost::json::storage_ptr sp = {});

// POST /api/connex/integration-preview → IntegrationPreviewResponse: summary only, no message
// text, no draft bodies, no payloads; evaluated with empty tenant weights.
boost::json::object preview(const boost::json::object& request, boost::json::storage_ptr sp = {});

// The same responses serialised. These build in a per-call arena and are the fast path for a
// route handler that only needs the body text.
std::string evaluate_status_json(const boost::json::object& request, const TenantWeights& weights,
                                 const EvalContext& ctx);
std::string evaluate_event_json(const boost::json::object& request, const TenantWeights& weights,
                                const EvalContext& ctx);
std::string preview_json(const boost::json::object& request);

}  // namespace postern::connex
