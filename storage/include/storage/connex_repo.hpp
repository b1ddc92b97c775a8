#pragma once
// Connex storage (migration 0003): evaluated integration events and their operation ledger,
// internal dispatch records, outcomes, learned weights (as JSON text: storage does not know the
// evaluator's types), graph events, mailbox settings, message evaluations and outbox cursors.
// Like repos.hpp: plain functions over the Database they are given; every read and write names
// the tenant, which always comes from the caller's credential. Writes run on the writer thread
// inside its transaction; reads on any thread's own connection.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.hpp"
#include "storage/database.hpp"
#include "storage/events.hpp"

namespace postern::storage {

// ---- integration events and the operation ledger ----

struct ConnexOperationRow {
    std::string id;  // op_…
    std::string type;
    std::string bucket;  // autoApply | humanReview | blocked | drafts
};

struct ConnexDispatchRow {
    std::string id;  // dsp_…
    std::optional<std::string> event_id;
    std::optional<std::string> operation_id;
    std::string type;
    std::string label;
    std::string status;  // queued | pending_approval | blocked
    std::string payload_json = "{}";
    std::int64_t created_at = 0;
};

struct ConnexEventRow {
    std::string id;  // cxe_…
    std::string tenant_id;
    std::string source_system;
    std::optional<std::string> source_event_id;
    std::string request_hash;
    std::string app;
    std::optional<std::string> event_type, object_type, object_id, message_id;
    std::string canonical_status;
    std::optional<std::string> current_status, mapped_status;
    std::int64_t confidence_pct = 0;  // canonical.confidence × 100
    std::string apply_mode = "recommend";
    std::string result_json;
    std::int64_t created_at = 0;
};

// What an idempotent replay or an outcome needs of a stored event.
struct StoredConnexEvent {
    std::string id;
    std::string request_hash;
    std::string result_json;
    std::string app;
    std::optional<std::string> object_type, object_id;
};

// Inserts the event, its operations and dispatch records. Returns false, writing nothing, when
// the tenant already has an event with the same (source_system, source_event_id).
[[nodiscard]] Result<bool> insert_connex_event(Database& db, const ConnexEventRow& event,
                                               const std::vector<ConnexOperationRow>& operations,
                                               const std::vector<ConnexDispatchRow>& dispatches);
[[nodiscard]] Result<std::optional<StoredConnexEvent>> find_connex_event_by_source(
    Database& db, std::string_view tenant_id, std::string_view source_system,
    std::string_view source_event_id);
// By our id (cxe_…), or else by the caller's own event id within `source_system`.
[[nodiscard]] Result<std::optional<StoredConnexEvent>> find_connex_event(
    Database& db, std::string_view tenant_id, std::string_view id_or_source_event_id,
    std::string_view source_system);
// The event an operation id belongs to.
[[nodiscard]] Result<std::optional<StoredConnexEvent>> find_connex_event_of_operation(
    Database& db, std::string_view tenant_id, std::string_view operation_id);
// An operation's ledger bucket and status (autoApply|humanReview|blocked|drafts; recommended,
// applied, …), or nullopt when the tenant has no such operation.
struct ConnexOperationState {
    std::string bucket, status;
};
[[nodiscard]] Result<std::optional<ConnexOperationState>> find_connex_operation_state(
    Database& db, std::string_view tenant_id, std::string_view operation_id);
// Sets the ledger status of one operation; false when the tenant has no such operation.
[[nodiscard]] Result<bool> set_connex_operation_status(Database& db, std::string_view tenant_id,
                                                       std::string_view operation_id,
                                                       std::string_view status, std::int64_t now);
[[nodiscard]] Result<std::int64_t> count_connex_events(Database& db, std::string_view tenant_id,
                                                       std::int64_t since_ms = 0);

// ---- dispatch records and graph events (account-gated routes) ----
[[nodiscard]] Result<void> insert_connex_dispatch(Database& db, std::string_view tenant_id,
                                                  const ConnexDispatchRow& row);
[[nodiscard]] Result<void> insert_connex_graph_event(Database& db, std::string_view tenant_id,
                                                     std::string_view id, std::string_view kind,
                                                     std::string_view data_json, std::int64_t now);
[[nodiscard]] Result<std::vector<ConnexDispatchRow>> list_connex_dispatch(
    Database& db, std::string_view tenant_id, std::size_t limit);

// ---- outcomes and learned weights ----

struct ConnexOutcomeRow {
    std::string id;  // cxo_…
    std::string tenant_id;
    std::string source_system;
    std::string source_outcome_id;
    std::string request_hash;
    std::optional<std::string> event_id, operation_id;
    bool operation_matched = false;
    std::string outcome_type;
    std::string learning_signal;
    std::int64_t value_score = 0;
    std::optional<std::int64_t> revenue_cents;
    std::optional<std::string> app, object_type, object_id;
    std::string request_json;
    std::string response_json;
    std::int64_t created_at = 0;
};

struct StoredConnexOutcome {
    std::string id;
    std::string request_hash;
    std::string response_json;
};

[[nodiscard]] Result<std::optional<StoredConnexOutcome>> find_connex_outcome(
    Database& db, std::string_view tenant_id, std::string_view source_system,
    std::string_view source_outcome_id);
[[nodiscard]] Result<void> insert_connex_outcome(Database& db, const ConnexOutcomeRow& row);

struct ConnexWeightsRow {
    std::int64_t version = 0;  // 0: none stored yet
    std::string json;
};
[[nodiscard]] Result<ConnexWeightsRow> load_connex_weights(Database& db,
                                                           std::string_view tenant_id);
[[nodiscard]] Result<void> store_connex_weights(Database& db, std::string_view tenant_id,
                                                std::int64_t version, std::string_view json,
                                                std::int64_t now);

// ---- aggregates for insights and trust ----

struct ConnexFilters {  // each set filter must match
    std::optional<std::string> source_system, app, object_type, object_id;
};

struct ConnexTransition {
    std::string from, to, canonical_status;
    std::int64_t at = 0;
};

struct ConnexCounts {
    std::int64_t events = 0;
    std::int64_t operations = 0, human_review = 0, blocked = 0, applied = 0;
    std::int64_t outcomes = 0, negative_outcomes = 0, value_score_sum = 0;
    std::int64_t reasoning_events = 0;  // evaluated with a live model
    std::vector<std::pair<std::string, std::int64_t>> events_by_status;
    std::vector<ConnexTransition> recent_transitions;  // newest first
    std::int64_t dispatches = 0;
};

[[nodiscard]] Result<ConnexCounts> connex_counts(Database& db, std::string_view tenant_id,
                                                 const ConnexFilters& filters,
                                                 std::size_t transition_limit);
// True when the tenant has a domain verified for sending (ownership, SPF and DKIM).
[[nodiscard]] Result<bool> tenant_has_verified_domain(Database& db, std::string_view tenant_id);

// ---- mail integration: mailbox settings, message evaluations, the events outbox ----

// Whether inbound mail to the mailbox is evaluated automatically (default off).
[[nodiscard]] Result<bool> mailbox_auto_evaluate(Database& db, std::string_view mailbox_id);
[[nodiscard]] Result<void> set_mailbox_auto_evaluate(Database& db, std::string_view tenant_id,
                                                     std::string_view mailbox_id, bool on,
                                                     std::int64_t now);
// The setting as an actor's change: written with its audit entry (mailbox.update, by `actor`)
// and its mailbox.updated event only when it changes. True when it changed; Errc::not_found
// when the tenant has no such mailbox.
[[nodiscard]] Result<bool> update_mailbox_auto_evaluate(Database& db, std::string_view tenant_id,
                                                        std::string_view mailbox_id, bool on,
                                                        std::string_view actor, std::int64_t now);
// The tenant's mailboxes with auto-evaluation on.
[[nodiscard]] Result<std::vector<std::string>> auto_evaluate_mailboxes(Database& db,
                                                                       std::string_view tenant_id);

struct MessageEvaluation {
    std::string message_id;
    std::string event_id;  // cxe_…
    std::string status;
    std::string result_json;
    std::int64_t created_at = 0;
};
// Ignored (false) when the message already has one.
[[nodiscard]] Result<bool> insert_message_evaluation(Database& db, std::string_view tenant_id,
                                                     std::string_view mailbox_id,
                                                     const MessageEvaluation& e);
[[nodiscard]] Result<std::optional<MessageEvaluation>> get_message_evaluation(
    Database& db, std::string_view tenant_id, std::string_view message_id);

}  // namespace postern::storage
