#pragma once
// Request-target parsing (Boost.URL) and query-parameter validation for list routes. Unknown
// parameters are refused (400) rather than ignored, so a misspelt `limit` does not silently
// return 50 items. Pure; thread-safe.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <utility>
#include <vector>

#include "apid/problem.hpp"
#include "common/result.hpp"

namespace postern::api {

using QueryParams = std::vector<std::pair<std::string, std::string>>;  // decoded, in order

struct Target {
    std::vector<std::string> segments;  // decoded path segments
    QueryParams query;
};

// Errc::invalid_argument when `target` is neither origin-form ("/path?query") nor absolute-form
// ("http://host/path?query").
[[nodiscard]] Result<Target> parse_target(std::string_view target);

inline constexpr std::size_t kDefaultLimit = 50;
inline constexpr std::size_t kMaxLimit = 500;
inline constexpr std::size_t kMaxCursorLength = 512;

struct ListParams {
    std::size_t limit = kDefaultLimit;
    std::optional<std::string> cursor;
    std::optional<std::string> thread_id;  // only where the route accepts it
};

// Validates `limit` (an integer 1..500), `cursor` (non-empty, bounded) and, when listed in
// `extra`, `thread_id`. Every other parameter, and any parameter given twice, is an error.
[[nodiscard]] tl::expected<ListParams, std::vector<FieldError>> parse_list_params(
    const QueryParams& query, const std::vector<std::string_view>& extra = {});

// For routes that take no query parameters: one error per parameter present.
std::vector<FieldError> reject_params(const QueryParams& query);

}  // namespace postern::api
