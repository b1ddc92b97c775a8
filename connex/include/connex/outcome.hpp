#pragma once
// Outcome learning: maps an IntegrationOutcomeRequest onto its learningSignal and adjusts the
// tenant's weights (docs/connex-evaluator.md, "Learning"). Pure; the caller owns the weights.
#include <boost/json/object.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "connex/taxonomy.hpp"
#include "connex/weights.hpp"

namespace postern::connex {

enum class OutcomeType : std::uint8_t {
    operation_applied,
    operation_failed,
    human_approved,
    human_rejected,
    reply_sent,
    meeting_booked,
    deal_advanced,
    deal_won,
    deal_lost,
    bad_classification,
    spam_complaint,
    manual_override,
};

enum class LearningSignal : std::uint8_t {
    positive_operation_signal,
    positive_outcome_signal,
    negative_classification_signal,
    deliverability_risk_signal,
    human_override_signal,
    integration_failure_signal,
    negative_outcome_signal,
    neutral_outcome_signal,
};

std::optional<OutcomeType> parse_outcome_type(std::string_view s);
std::string_view name(OutcomeType t);
std::string_view name(LearningSignal s);

// The contract's mapping, with one rule of our own: a value score whose sign contradicts the
// outcome (a deal_won worth -40, a deal_lost worth +10) is a neutral_outcome_signal.
LearningSignal learning_signal(OutcomeType t, int value_score);

// What apid knows about the evaluation an outcome refers to (looked up by integrationEventId /
// operationId in its own storage). Everything is optional: unmatched outcomes still count.
struct OutcomeFacts {
    std::optional<Status> status;               // the canonical status that was returned
    std::vector<std::string> signals;           // the features that voted for it
    std::optional<std::string> operation_type;  // the AppOperation type, if operationId matched
    bool operation_matched = false;
};

// Pulls OutcomeFacts out of a stored IntegrationEventResponse (or StatusEvaluationResponse).
OutcomeFacts facts_from_result(const boost::json::object& stored_result,
                               std::string_view operation_id);

struct LearningResult {
    LearningSignal signal;
    std::optional<std::string> applied_status;  // the AppOperation ledger status, or none
    std::vector<std::string> changes;           // human-readable weight changes, for audit
};

// Requires a request that passed validate_outcome_request().
LearningResult apply_outcome(TenantWeights& w, const boost::json::object& outcome_request,
                             const OutcomeFacts& facts);

// The ledger's rules for an outcome that moves an operation of `bucket` from status `from` to
// `to`: nullopt when allowed, else why not (apid answers 409 and records nothing). A settled
// operation (applied, failed, rejected, skipped) stays as it is (the same status again is
// allowed); an approved one may only be applied, fail or be skipped; a blocked one may only be
// rejected or skipped; one that needs a human (humanReview) is approved before it is applied.
std::optional<std::string> ledger_refusal(std::string_view bucket, std::string_view from,
                                          std::string_view to);

// IntegrationOutcomeResponse.
boost::json::object outcome_response(std::string_view tenant_id, std::string_view outcome_id,
                                     bool persisted, const boost::json::object& outcome_request,
                                     const LearningResult& result, const OutcomeFacts& facts);

}  // namespace postern::connex
