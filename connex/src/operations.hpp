#pragma once
// Builds the AppOperations for one evaluation and sorts them into buckets under the safety rules
// (docs/connex-evaluator.md, "Operations and safety"). Private to postern_connex.
#include <boost/json/object.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "connex/classifier.hpp"
#include "connex/weights.hpp"
#include "connex/workflow.hpp"
#include "json_util.hpp"

namespace postern::connex {

enum class Bucket : std::uint8_t { auto_apply, human_review, blocked, drafts };

struct Operation {
    explicit Operation(boost::json::storage_ptr sp) : payload(std::move(sp)) {}

    std::string id;
    std::string_view type;
    std::string label;
    std::string_view target_type;  // empty: the request's object
    std::string target_id;
    bool target_is_contact = false;
    boost::json::object payload;
    bool approval_required = false;
    Bucket bucket = Bucket::auto_apply;
    std::string reason;
};

// Payloads are allocated from `sp`.
std::vector<Operation> build_operations(const RequestView& req, const Classification& c,
                                        const WorkflowMapping& m, const TenantWeights& w,
                                        std::string_view id_seed,
                                        std::vector<std::string>& warnings,
                                        const boost::json::storage_ptr& sp);

// The AppOperation object, allocated from `sp`.
boost::json::object to_json(const Operation& op, const RequestView& req,
                            const boost::json::storage_ptr& sp);

std::string_view bucket_name(Bucket b);

}  // namespace postern::connex
