#include "apid/auto_evaluate.hpp"

#include <boost/json.hpp>
#include <future>
#include <map>
#include <vector>

#include "apid/serialize.hpp"
#include "common/log.hpp"
#include "common/mime.hpp"
#include "common/time.hpp"
#include "connex/validate.hpp"
#include "connex_handlers.hpp"
#include "connex_plan.hpp"
#include "storage/connex_repo.hpp"
#include "storage/repos.hpp"

namespace postern::api {

namespace json = boost::json;

namespace {

// The longest prefix of valid UTF-8 `s` that fits in `max` bytes, cut between characters.
std::string utf8_prefix(std::string s, std::size_t max) {
    if (s.size() <= max) return s;
    std::size_t n = max;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
    s.resize(n);
    return s;
}

struct Evaluated {
    EventPlan plan;
    std::string message_id;
    std::optional<std::string> mailbox_id;
};

// The IntegrationEventRequest for a stored message: Postern owns the mailbox (the contract's
// `connex` identity owner), so drafts may be Connex's, and the copy is already persisted.
json::object request_for(const storage::MessageRow& row, const mime::Parsed& parsed) {
    std::string from =
        parsed.summary.from.empty() ? row.envelope_from : parsed.summary.from.front().address;
    std::string text = parsed.text.empty() ? parsed.summary.snippet : parsed.text;
    json::object message{
        {"from", utf8_prefix(utf8_clean(from), connex::kMaxShortString)},
        {"to", utf8_prefix(utf8_clean(row.envelope_to), connex::kMaxShortString)},
        {"subject", utf8_prefix(utf8_clean(parsed.summary.subject), connex::kMaxSubjectBytes)},
        {"body", utf8_prefix(utf8_clean(text), connex::kMaxBodyBytes)}};
    return {
        {"app", "postern"},
        {"sourceSystem", kAutoEvaluateSource},
        {"sourceEventId", row.id},
        {"eventType", "inbound_email"},
        {"externalIds", {{"messageId", row.id}, {"threadId", row.thread_id}}},
        {"object", {{"id", row.id}, {"type", "message"}}},
        {"sourceMailbox", {{"senderIdentityOwner", "connex"}, {"replyPolicy", "connex_allowed"}}},
        {"message", std::move(message)}};
}

// Evaluates one `message.received` event, or returns nullopt when it needs nothing (setting off,
// message gone) or cannot be read (logged).
Result<std::optional<Evaluated>> evaluate(storage::Database& read, WeightsCache& weights,
                                          const storage::OutboxEvent& e,
                                          std::map<std::string, bool>& enabled, std::int64_t now) {
    boost::system::error_code ec;
    json::value data = json::parse(e.data_json, ec);
    if (ec || !data.is_object()) return std::optional<Evaluated>();
    std::string message_id(str_member(data.get_object(), "message_id"));
    std::string mailbox_id =
        e.mailbox_id.value_or(std::string(str_member(data.get_object(), "mailbox_id")));
    if (message_id.empty() || mailbox_id.empty()) return std::optional<Evaluated>();
    auto it = enabled.find(mailbox_id);
    if (it == enabled.end()) {
        auto on = storage::mailbox_auto_evaluate(read, mailbox_id);
        if (!on) return tl::unexpected(on.error());
        it = enabled.emplace(mailbox_id, *on).first;
    }
    if (!it->second) return std::optional<Evaluated>();

    auto row = storage::get_message(read, storage::Scope{e.tenant_id, std::nullopt}, message_id);
    if (!row) return tl::unexpected(row.error());
    if (!*row) return std::optional<Evaluated>();
    auto raw = storage::load_blob(read, (*row)->blob_sha256);
    if (!raw) return tl::unexpected(raw.error());
    auto parsed = mime::parse(*raw);
    if (!parsed) {
        spdlog::warn("auto-evaluate {}: {}", message_id, parsed.error().message());
        return std::optional<Evaluated>();
    }
    json::object request = request_for(**row, *parsed);
    if (auto errors = connex::validate_event_request(request); !errors.empty()) {
        spdlog::warn("auto-evaluate {}: {} {}", message_id, errors.front().field,
                     errors.front().message);
        return std::optional<Evaluated>();
    }
    auto w = weights.get(e.tenant_id, read);
    if (!w) return tl::unexpected(w.error());
    connex::ShadowReceipt shadow{true, message_id, (*row)->thread_id};
    Evaluated out{plan_event(request, **w, e.tenant_id, request_hash(request), now, shadow),
                  message_id, mailbox_id};
    out.plan.row.message_id = message_id;
    return std::optional<Evaluated>(std::move(out));
}

Result<void> store(storage::Database& db, const std::vector<Evaluated>& items, std::int64_t from,
                   std::int64_t to, std::int64_t now) {
    for (const auto& it : items) {
        const auto& row = it.plan.row;
        auto inserted = write_event(db, it.plan, kAutoEvaluateSource);
        if (!inserted) return tl::unexpected(inserted.error());
        storage::MessageEvaluation eval{it.message_id, row.id, row.canonical_status,
                                        row.result_json, now};
        if (!*inserted) {  // evaluated before (the cursor was reset): keep the first result
            auto earlier = storage::find_connex_event_by_source(db, row.tenant_id,
                                                                row.source_system, it.message_id);
            if (!earlier) return tl::unexpected(earlier.error());
            if (!*earlier) continue;
            eval.event_id = (*earlier)->id;
            eval.result_json = (*earlier)->result_json;
        }
        auto added =
            storage::insert_message_evaluation(db, row.tenant_id, it.mailbox_id.value_or(""), eval);
        if (!added) return tl::unexpected(added.error());
        if (!*added) continue;
        json::object data{{"message_id", it.message_id},
                          {"mailbox_id", it.mailbox_id.value_or("")},
                          {"integration_event_id", eval.event_id},
                          {"status", row.canonical_status},
                          {"priority", it.plan.priority},
                          {"confidence", double(row.confidence_pct) / 100.0}};
        POSTERN_TRY(storage::append_event(db, row.tenant_id, it.mailbox_id, "message.evaluated",
                                          json::serialize(data), now));
    }
    return storage::advance_outbox_cursor(db, kAutoEvaluateCursor, from, to, now);
}

}  // namespace

Result<std::size_t> AutoEvaluator::run_once(storage::Database& read, WeightsCache& weights,
                                            const Write& write, std::size_t batch,
                                            std::int64_t now) {
    auto cursor = storage::outbox_cursor(read, kAutoEvaluateCursor);
    if (!cursor) return tl::unexpected(cursor.error());
    auto events = storage::events_after(read, *cursor, batch);
    if (!events) return tl::unexpected(events.error());
    if (events->empty()) return std::size_t{0};
    auto items = std::make_shared<std::vector<Evaluated>>();
    std::map<std::string, bool> enabled;
    for (const auto& e : *events) {
        if (e.type != "message.received") continue;
        auto one = evaluate(read, weights, e, enabled, now);
        if (!one) return tl::unexpected(one.error());
        if (*one) items->push_back(std::move(**one));
    }
    std::int64_t from = *cursor, to = events->back().seq;
    POSTERN_TRY(write([items, from, to, now](storage::Database& db) {
        return store(db, *items, from, to, now);
    }));
    return events->size();
}

AutoEvaluator::AutoEvaluator(std::filesystem::path db_path, storage::Writer& writer,
                             WeightsCache& weights, Options options)
    : db_path_(std::move(db_path)), writer_(writer), weights_(weights), options_(options) {}

AutoEvaluator::~AutoEvaluator() { stop(); }

void AutoEvaluator::start() {
    thread_ = std::thread([this] { run(); });
}

void AutoEvaluator::stop() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void AutoEvaluator::run() {
    auto db = storage::Database::open(db_path_);
    if (!db) {
        spdlog::error("auto-evaluate: cannot open the database: {}", db.error().message());
        return;
    }
    Write write = [this](storage::Writer::Job job) -> Result<void> {
        auto done = std::make_shared<std::promise<Result<void>>>();
        auto result = done->get_future();
        writer_.submit(std::move(job), [done](Result<void> r) { done->set_value(std::move(r)); });
        return result.get();
    };
    for (;;) {
        auto n = run_once(**db, weights_, write, options_.batch, now_ms());
        if (!n) spdlog::warn("auto-evaluate: {}", n.error().message());
        std::unique_lock lock(mu_);
        if (stopping_) return;
        if (n && *n > 0) continue;  // more may be waiting
        cv_.wait_for(lock, options_.poll, [this] { return stopping_; });
        if (stopping_) return;
    }
}

}  // namespace postern::api
