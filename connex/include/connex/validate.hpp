#pragma once
// Request validation for the Connex routes: the contract's required fields, types and enums plus
// our size bounds. An empty list means valid; otherwise apid answers 400 problem+json with these
// as `errors` (API.md). Unknown members are allowed, as the contract does not forbid them. Pure.
#include <boost/json/array.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace postern::connex {

inline constexpr std::size_t kMaxSubjectBytes = 4 * 1024;
inline constexpr std::size_t kMaxBodyBytes = 256 * 1024;
inline constexpr std::size_t kMaxShortString = 1024;  // ids, names, URLs

struct FieldError {
    std::string field;  // JSON path, e.g. "message.subject" or "sourceMailbox.replyPolicy"
    std::string message;
};

std::vector<FieldError> validate_status_request(const boost::json::value& v);
std::vector<FieldError> validate_event_request(const boost::json::value& v);  // also preview
std::vector<FieldError> validate_outcome_request(const boost::json::value& v);
std::vector<FieldError> validate_insights_request(const boost::json::value& v);

boost::json::array to_json(const std::vector<FieldError>& errors);

// A JSON integer as JSON Schema counts them: a number without a fraction, so 5 and 5.0 (within
// ±9e15, where doubles are exact) — or nullopt. What validation accepts as an integer, every
// reader takes by this, so that a value never passes one and is ignored by the other.
std::optional<std::int64_t> json_integer(const boost::json::value* v);

}  // namespace postern::connex
