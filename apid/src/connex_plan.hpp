#pragma once
// One integration event from evaluation to storage, shared by POST /api/connex/integration-event
// and the inbound-mail auto-evaluator: evaluate with the tenant's weights (pure, any thread),
// then write the event, its operation ledger and its dispatch records (writer thread).
#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "connex/evaluator.hpp"
#include "connex/weights.hpp"
#include "storage/connex_repo.hpp"
#include "storage/database.hpp"

namespace postern::api {

struct EventPlan {
    storage::ConnexEventRow row;  // row.result_json: the response in its stored (compact) form
    std::string body;             // the response as sent
    std::vector<storage::ConnexOperationRow> operations;
    std::vector<storage::ConnexDispatchRow> dispatches;
    std::string priority;  // canonical.priority
};

// Evaluates a validated IntegrationEventRequest for `tenant_id` and plans its rows. The response
// gets a new `integrationEventId` (cxe_…, an extension member) that outcomes may refer to; it also
// seeds the operation and dispatch ids, so they are unique per event.
// `shadow`: the mailbox copy Postern holds, for the shadowMessage receipt.
EventPlan plan_event(const boost::json::object& request, const connex::TenantWeights& weights,
                     const std::string& tenant_id, std::string request_hash, std::int64_t now,
                     const std::optional<connex::ShadowReceipt>& shadow = std::nullopt);

// Stored results omit `status.operations`: every operation is also in exactly one of
// `operationBuckets`, and ids sort in emission order, so the list is rebuilt on the way out. That
// keeps a third of each row off the disk. These restore the response exactly as first sent (a
// result stored whole is left as it is).
void expand_result(boost::json::object& stored);
[[nodiscard]] Result<std::string> expand_result_text(std::string_view stored);

// Writes the planned rows plus, per dispatch record, a `connex.dispatch.create` audit row by
// `actor` (a token id, or "postern" for Postern's own evaluations) and a `connex.dispatch.created`
// outbox event. Returns false, writing nothing, when the tenant already has this
// (sourceSystem, sourceEventId).
[[nodiscard]] Result<bool> write_event(storage::Database& db, const EventPlan& plan,
                                       std::string_view actor);

}  // namespace postern::api
