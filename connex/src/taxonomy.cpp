#include "connex/taxonomy.hpp"

#include <array>
#include <cstdlib>

namespace postern::connex {
namespace {

using enum Status;
constexpr auto S = Tier::system;
constexpr auto F = Tier::safety;
constexpr auto C = Tier::conversation;
constexpr auto lo = Priority::low;
constexpr auto md = Priority::medium;
constexpr auto hi = Priority::high;
constexpr auto tl = TrustLevel::low;
constexpr auto tm = TrustLevel::medium;
constexpr auto th = TrustLevel::high;

// clang-format off
// status, name, tier, priority, approval, changes_status, reply_useful, suppresses, stops_outreach,
// task_type, task_label, next_best_action, default_inbox, agent_action, trust, fit_base
constexpr std::array<StatusInfo, kStatusCount> kTable{{
    {delivery_failure, "delivery_failure", S, md, false, true, false, false, true,
     "fix_contact_address", "Find a working address for the contact",
     "Verify the recipient address and stop sending to it until it is fixed",
     "Deliverability", "verify_contact_address", tl, 10},
    {out_of_office, "out_of_office", S, lo, false, false, false, false, false,
     "", "", "Wait until the contact is back, then follow up",
     "Automated", "pause_until_contact_returns", tl, 50},
    {auto_reply, "auto_reply", S, lo, false, false, false, false, false,
     "", "", "No action needed; wait for a human reply",
     "Automated", "wait_for_human_reply", tl, 50},
    {complaint_or_spam, "complaint_or_spam", F, hi, true, true, false, true, true,
     "review_complaint", "Review the complaint and confirm the contact is suppressed",
     "Stop all outreach to this contact and have a human handle the complaint",
     "Compliance", "suppress_and_escalate", th, 0},
    {unsubscribe_request, "unsubscribe_request", F, hi, false, true, false, true, true,
     "", "", "Suppress the contact and stop every sequence; do not reply",
     "Compliance", "suppress_contact", tm, 0},
    {cancellation_request, "cancellation_request", C, hi, true, true, true, false, true,
     "process_cancellation", "Process the cancellation request",
     "Have a human confirm the cancellation (and any retention offer) before replying",
     "Human Approval", "escalate_cancellation", th, 5},
    {approval_requested, "approval_requested", C, hi, true, true, true, false, false,
     "review_approval", "Review and approve or reject the request",
     "Review the request and approve or reject it before anything proceeds",
     "Human Approval", "escalate_for_approval", th, 70},
    {proof_of_funds_requested, "proof_of_funds_requested", C, hi, true, true, true, false, false,
     "proof_of_funds", "Request proof of funds", "Ask the buyer to upload proof of funds",
     "Human Approval", "collect_proof_of_funds", th, 75},
    {contract_terms, "contract_terms", C, hi, true, true, true, false, false,
     "review_contract_terms", "Review the requested contract terms",
     "Have the contract owner review the requested terms before replying",
     "Human Approval", "escalate_contract_review", th, 70},
    {negotiation, "negotiation", C, hi, true, true, true, false, false,
     "review_counteroffer", "Review the counteroffer",
     "Review the counteroffer against your limits and reply with an approved position",
     "Human Approval", "prepare_counteroffer_for_approval", th, 65},
    {meeting_requested, "meeting_requested", C, hi, false, true, true, false, false,
     "schedule_meeting", "Schedule the requested meeting",
     "Propose meeting times or send a booking link",
     "Replies", "propose_meeting_times", tm, 85},
    {pricing_question, "pricing_question", C, hi, false, true, true, false, false,
     "answer_pricing", "Answer the pricing question", "Reply with pricing or a quote",
     "Replies", "draft_pricing_reply", tm, 75},
    {not_interested, "not_interested", C, lo, false, true, false, false, true,
     "", "", "Close the opportunity and stop the sequence",
     "Closed", "stop_sequence", tl, 5},
    {wrong_contact, "wrong_contact", C, md, false, true, true, false, true,
     "update_contact", "Update the contact and reach the right person",
     "Update the contact record and reach out to the referred person if one was named",
     "Replies", "update_contact_record", tm, 30},
    {follow_up_later, "follow_up_later", C, lo, false, true, true, false, true,
     "follow_up", "Follow up when the contact asked",
     "Schedule a follow-up for the requested time and pause the sequence",
     "Nurture", "schedule_follow_up", tl, 45},
    {documents_provided, "documents_provided", C, md, false, true, true, false, false,
     "review_documents", "Review the documents the contact sent",
     "Review the attached or linked documents and confirm receipt",
     "Replies", "review_documents", tm, 70},
    {positive_interest, "positive_interest", C, hi, false, true, true, false, false,
     "advance_opportunity", "Send the next step to the interested contact",
     "Reply promptly with the next step", "Replies", "send_next_step", tm, 90},
    {question, "question", C, md, false, true, true, false, false,
     "answer_question", "Answer the contact's question", "Answer the question",
     "Replies", "draft_answer", tm, 55},
    {acknowledgement, "acknowledgement", C, lo, false, false, false, false, false,
     "", "", "No reply needed", "Replies", "none", tl, 50},
    {unclassified, "unclassified", C, lo, false, false, false, false, false,
     "triage", "Triage the message", "Have a human read and classify the message",
     "Triage", "human_triage", tm, 40},
}};
// clang-format on

constexpr bool table_in_enum_order() {
    for (std::size_t i = 0; i < kTable.size(); ++i)
        if (static_cast<std::size_t>(kTable[i].status) != i) return false;
    return true;
}
static_assert(table_in_enum_order());

}  // namespace

const StatusInfo& info(Status s) {
    auto i = static_cast<std::size_t>(s);
    if (i >= kTable.size()) std::abort();
    return kTable[i];
}

std::optional<Status> parse_status(std::string_view name) {
    for (const auto& row : kTable)
        if (row.name == name) return row.status;
    return std::nullopt;
}

std::span<const StatusInfo> all_statuses() { return kTable; }

std::string_view name(Priority p) {
    switch (p) {
        case Priority::low:
            return "low";
        case Priority::medium:
            return "medium";
        case Priority::high:
            return "high";
        case Priority::urgent:
            return "urgent";
    }
    return "medium";
}

std::string_view name(TrustLevel t) {
    switch (t) {
        case TrustLevel::low:
            return "low";
        case TrustLevel::medium:
            return "medium";
        case TrustLevel::high:
            return "high";
    }
    return "medium";
}

Priority bump(Priority p) { return p == Priority::urgent ? p : static_cast<Priority>(int(p) + 1); }

}  // namespace postern::connex
