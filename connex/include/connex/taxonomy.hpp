#pragma once
// The canonical status taxonomy of the Connex evaluator (docs/connex-evaluator.md, "Taxonomy").
// Every status carries the defaults the evaluator needs: tier, priority, whether a human must
// approve, the task it creates, the next best action and the inbox it routes to when the app's
// workflow says nothing. The enum order is the tie-break precedence: a lower value wins a tie.
// Immutable tables; any thread may call.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace postern::connex {

enum class Status : std::uint8_t {
    delivery_failure,
    out_of_office,
    auto_reply,
    complaint_or_spam,
    unsubscribe_request,
    cancellation_request,
    approval_requested,
    proof_of_funds_requested,
    contract_terms,
    negotiation,
    meeting_requested,
    pricing_question,
    not_interested,
    wrong_contact,
    follow_up_later,
    documents_provided,
    positive_interest,
    question,
    acknowledgement,
    unclassified,
};
inline constexpr std::size_t kStatusCount = 20;

// Tiers decide before scores do: a system status (bounce, auto-reply) or a safety status
// (complaint, unsubscribe) that reaches its gate wins over any commercial intent.
enum class Tier : std::uint8_t { system, safety, conversation };

enum class Priority : std::uint8_t { low, medium, high, urgent };

enum class TrustLevel : std::uint8_t { low, medium, high };

struct StatusInfo {
    Status status;
    std::string_view name;  // the wire name, e.g. "proof_of_funds_requested"
    Tier tier;
    Priority priority;
    bool approval_required;      // a human decides before anything goes out
    bool changes_status;         // false: the app's current status is kept (auto-replies, noise)
    bool reply_useful;           // a draft reply makes sense for this status
    bool suppresses;             // yields suppress_contact
    bool stops_outreach;         // sequences and follow-ups must stop
    std::string_view task_type;  // empty: no create_task
    std::string_view task_label;
    std::string_view next_best_action;
    std::string_view default_inbox;
    std::string_view agent_action;  // networkEnvelope.recommendedAgentAction
    TrustLevel trust;               // networkEnvelope.trustRequired
    int fit_base;                   // 0..100, engagement value of this status
};

const StatusInfo& info(Status s);
inline std::string_view name(Status s) { return info(s).name; }
std::optional<Status> parse_status(std::string_view name);
std::span<const StatusInfo> all_statuses();

std::string_view name(Priority p);
std::string_view name(TrustLevel t);
Priority bump(Priority p);

}  // namespace postern::connex
