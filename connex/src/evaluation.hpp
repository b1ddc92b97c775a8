#pragma once
// One evaluation's intermediate state, and the builders that turn it into response objects.
// Every builder allocates from the storage it is given, so callers can build a whole response
// in one arena. Private to postern_connex.
#include <boost/json/object.hpp>
#include <boost/json/storage_ptr.hpp>
#include <string>
#include <vector>

#include "connex/classifier.hpp"
#include "connex/evaluator.hpp"
#include "connex/workflow.hpp"
#include "json_util.hpp"
#include "operations.hpp"

namespace postern::connex {

struct Evaluation {
    RequestView req;
    Classification c;
    WorkflowMapping map;
    std::vector<Operation> ops;
    std::vector<std::string> warnings;
    std::string seed;
    std::string idempotency_key;
    int fit = 0;
};

Evaluation run(const boost::json::object& request, const TenantWeights& w, const EvalContext& ctx,
               const boost::json::storage_ptr& sp);

// Parts of IntegrationEventResponse (event_result.cpp).
boost::json::object network_envelope(const Evaluation& e, const boost::json::storage_ptr& sp);
boost::json::object graph_hints(const Evaluation& e, const boost::json::storage_ptr& sp);
boost::json::object materialization(const Evaluation& e, const boost::json::storage_ptr& sp);
boost::json::object shadow_message(const Evaluation& e, const EvalContext& ctx,
                                   const boost::json::storage_ptr& sp);

}  // namespace postern::connex
