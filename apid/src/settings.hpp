#pragma once
// Private to postern_api: the Connex parts of /v1 views.
#include <boost/json/value.hpp>
#include <string_view>

#include "common/result.hpp"
#include "storage/database.hpp"

namespace postern::api {

// A message's stored Connex evaluation for GET /v1/messages/{id}:
// {"integration_event_id", "evaluated_at", "status", "result": IntegrationEventResponse}, or null.
[[nodiscard]] Result<boost::json::value> message_connex_json(storage::Database& db,
                                                             std::string_view tenant_id,
                                                             std::string_view message_id);

}  // namespace postern::api
