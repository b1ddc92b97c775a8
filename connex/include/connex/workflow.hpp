#pragma once
// Maps a canonical status onto the app's own workflow (statuses, inboxes, transitions and
// canonical mappings from the request's free-form `workflow` object) and decides whether the
// move from currentStatus is allowed. docs/connex-evaluator.md, "Workflow mapping". Pure.
#include <boost/json/object.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "connex/taxonomy.hpp"

namespace postern::connex {

struct WorkflowMapping {
    std::string status;  // the app status the message maps to (may equal current)
    std::string inbox;
    std::string task_type;  // "none" when the status creates no task
    bool changes = false;   // status differs from current: an update_status is due
    bool transition_allowed = true;
    std::string transition_reason;
    std::vector<std::string> warnings;
};

// `workflow` may be null (no workflow in the request). `current` is request.currentStatus.
WorkflowMapping map_workflow(const boost::json::object* workflow,
                             std::optional<std::string_view> current, Status canonical);

}  // namespace postern::connex
