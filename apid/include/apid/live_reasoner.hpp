#pragma once
// The optional live reasoning provider of the Connex routes: an OpenAI-compatible chat
// completions endpoint ([connex] reasoning_endpoint). Given the deterministic evaluation of an
// event, it asks the model for one instruction for the human or agent handling it. What comes
// back can only ever become the `reasoning.recommendedInstruction` text: the status, buckets,
// policy gates and every operation stay the deterministic engine's (seeds/003: "cannot auto-send
// or override Connex policy"). Any failure (timeout, refused connection, non-2xx, unusable JSON)
// leaves the deterministic result as it is and is reported in `reasoning.liveFallback`.
//
// advise() blocks for up to the configured timeout (connect to last byte), so callers run it off
// the io threads (Response::blocking). Thread-safe: each call has its own io_context and socket.
#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <string>

namespace postern::api {

struct LiveReasonerOptions {
    std::string endpoint;  // "" = off
    std::string model = "mundox";
    std::string api_key;  // "" = no Authorization header
    std::chrono::milliseconds timeout{3000};
    std::uint32_t max_tokens = 200;
};

struct LiveAdvice {
    bool used = false;        // the model answered with a usable instruction
    std::string instruction;  // trimmed, control characters removed, at most kMaxInstruction bytes
    std::string failure;      // why not, when !used (never contains the key)
};

class LiveReasoner {
 public:
    static constexpr std::size_t kMaxInstruction = 600;

    LiveReasoner() = default;
    explicit LiveReasoner(LiveReasonerOptions options) : options_(std::move(options)) {}

    bool enabled() const { return !options_.endpoint.empty(); }
    const LiveReasonerOptions& options() const { return options_; }

    // `context`: what the model is told (summary of the event and its deterministic status).
    LiveAdvice advise(const std::string& context) const;

    // Applies advice to a serialised IntegrationEventResponse / status response: sets the
    // `reasoning` members (provider, mode, model, usedLiveModel, recommendedInstruction or
    // liveFallback) and nothing else.
    void apply(boost::json::object& response, const LiveAdvice& advice) const;

 private:
    LiveReasonerOptions options_;
};

}  // namespace postern::api
