#pragma once
// Connex auto-evaluation of inbound mail (issue §4; DESIGN.md §3: "Connex evaluation runs from
// the events outbox, not on the hot path"). A background thread of postern-apid reads `events`
// after its cursor (outbox_cursors 'connex.auto_evaluate'); for each `message.received` whose
// mailbox has connex_auto_evaluate on, it evaluates the stored message with the tenant's weights
// and, in ONE writer transaction, stores the integration event (source "postern", event id = the
// message id), the message_evaluations row and a `message.evaluated` event, and moves the cursor
// past every event it read. So an event is evaluated once, and none is skipped across restarts or
// crashes: the cursor moves only with the results.
//
// Threads: start() runs the loop on its own thread with its own read connection; stop() joins it
// (from any thread but that one). `writer` and `weights` must outlive the AutoEvaluator.
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <thread>

#include "apid/connex_state.hpp"
#include "common/result.hpp"
#include "storage/database.hpp"
#include "storage/writer.hpp"

namespace postern::api {

inline constexpr std::string_view kAutoEvaluateCursor = "connex.auto_evaluate";
// The sourceSystem of those evaluations (their sourceEventId is the message id). Reserved: the
// integration-event route refuses it (as sourceSystem, or as app when that is absent).
inline constexpr std::string_view kAutoEvaluateSource = "postern";

class AutoEvaluator {
 public:
    struct Options {
        std::chrono::milliseconds poll{200};  // sleep when the outbox has nothing new
        std::size_t batch = 100;              // events per transaction
    };
    AutoEvaluator(std::filesystem::path db_path, storage::Writer& writer, WeightsCache& weights,
                  Options options);
    ~AutoEvaluator();
    AutoEvaluator(const AutoEvaluator&) = delete;
    AutoEvaluator& operator=(const AutoEvaluator&) = delete;

    void start();
    void stop();

    // Runs `job` durably and returns its result (the writer; in tests, a transaction inline).
    using Write = std::function<Result<void>(storage::Writer::Job)>;
    // One pass: up to `batch` events after the cursor. Returns how many it consumed (0: none
    // waiting). Messages it cannot read or evaluate are logged and passed over.
    [[nodiscard]] static Result<std::size_t> run_once(storage::Database& read,
                                                      WeightsCache& weights, const Write& write,
                                                      std::size_t batch, std::int64_t now_ms);

 private:
    void run();

    std::filesystem::path db_path_;
    storage::Writer& writer_;
    WeightsCache& weights_;
    Options options_;
    std::mutex mu_;
    std::condition_variable cv_;
    bool stopping_ = false;  // guarded by mu_
    std::thread thread_;
};

}  // namespace postern::api
