#pragma once
// The deterministic classifier: weighted phrase features over the author's own text of a message
// (quoted replies and signatures stripped), scored per canonical status, decided by tier gates,
// score and precedence (docs/connex-evaluator.md, "Classification"). Pure; any thread may call.
#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "connex/taxonomy.hpp"
#include "connex/weights.hpp"

namespace postern::connex {

inline constexpr double kMinScore = 1.5;              // below this nothing is claimed: unclassified
inline constexpr double kSystemGate = 2.5;            // a system status at or above this wins
inline constexpr double kSafetyGate = 2.5;            // then a safety status at or above this
inline constexpr double kSpecificOverFallback = 1.5;  // beats question/acknowledgement
inline constexpr double kUnclassifiedConfidence = 0.3;

struct MessageView {
    std::string_view subject;
    std::string_view body;
    std::string_view from;  // may be empty; "MAILER-DAEMON@…" is itself a signal
};

struct MatchedSignal {
    Status status;
    std::string_view feature;  // the pattern from the feature table (static storage)
    double weight;             // contribution after tenant weights and subject factor
    bool in_subject;
};

struct Classification {
    Status status = Status::unclassified;
    double confidence = kUnclassifiedConfidence;       // after the tenant delta, rounded to 0.01
    double rule_confidence = kUnclassifiedConfidence;  // before the tenant delta
    Priority priority = Priority::low;
    bool urgent = false;       // an urgency cue raised the priority
    bool hard_bounce = false;  // delivery_failure that is permanent: suppress the address
    bool spam = false;         // complaint_or_spam about unsolicited mail (vs. service)
    bool truncated = false;    // the text was longer than the scan limit
    std::array<double, kStatusCount> scores{};
    std::vector<MatchedSignal> signals;  // every matched feature, table order
    std::string bounced_recipient;       // for hard bounces, when the notice names one
};

Classification classify(const MessageView& msg, const TenantWeights& weights);

}  // namespace postern::connex
