#pragma once
// The classifier's feature table: weighted phrase patterns per canonical status.
//
// Pattern syntax (tokens separated by one space, matched against the case-folded token stream,
// never across a sentence boundary):
//   word     the token equals `word` (apostrophes are dropped: "don't" is written "dont")
//   word*    the token starts with `word`
//   @num @money @time @weekday @month @relday @email @url @dsn @quarter
//            a token of that class (see text.hpp)
//   @any     any one token
//   ~        skip zero, one or two tokens
//   #name    a structural signal computed by the classifier, not a phrase (see classifier.cpp)
// Private to postern_connex.
#include <cstdint>
#include <span>
#include <string_view>

#include "connex/taxonomy.hpp"

namespace postern::connex {

enum FeatureFlag : std::uint8_t {
    kNegatable = 1u << 0,    // ignored when "not", "no", "never", "don't"… precede it closely
    kSystem = 1u << 1,       // full weight even in a "Re:" subject (bounce/auto-reply prefixes)
    kSubjectOnly = 1u << 2,  // only counts in the subject
    kHardBounce = 1u << 3,   // a permanent delivery failure: suppress the address
    kSoftBounce = 1u << 4,   // a temporary delivery failure
    kSpam = 1u << 5,         // a complaint about unsolicited mail (not about service)
    kUrgency = 1u << 6,      // raises priority; scores nothing
    kNegatedOnly = 1u << 7,  // counts only when negated ("isn't for sale", "won't be renewing")
};

struct Feature {
    Status status;
    std::string_view pattern;
    float weight;
    std::uint8_t flags;
};

std::span<const Feature> feature_table();

}  // namespace postern::connex
