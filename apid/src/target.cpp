#include "apid/target.hpp"

#include <algorithm>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <charconv>

#include "common/ids.hpp"

namespace postern::api {

Result<Target> parse_target(std::string_view target) {
    // Origin-form ("/path?query") is what clients send; RFC 9112 §3.2.2 also requires
    // accepting absolute-form ("http://host/path"), whose authority we ignore.
    auto parsed = boost::urls::parse_origin_form(target);
    if (!parsed && (target.starts_with("http://") || target.starts_with("https://"))) {
        parsed = boost::urls::parse_absolute_uri(target);
        if (parsed && !parsed->is_path_absolute() && !parsed->encoded_path().empty())
            return fail(Errc::invalid_argument, "malformed request target");
    }
    if (!parsed) return fail(Errc::invalid_argument, "malformed request target");
    Target t;
    for (auto seg : parsed->segments()) t.segments.push_back(std::string(seg));
    for (auto p : parsed->params()) {
        // "?" alone, "&&" or a trailing "&" name nothing (WHATWG URL: empty pairs are skipped).
        if (p.key.empty() && !p.has_value) continue;
        t.query.emplace_back(std::string(p.key), std::string(p.value));
    }
    return t;
}

namespace {

bool seen_before(const QueryParams& query, std::size_t i) {
    for (std::size_t j = 0; j < i; ++j)
        if (query[j].first == query[i].first) return true;
    return false;
}

}  // namespace

tl::expected<ListParams, std::vector<FieldError>> parse_list_params(
    const QueryParams& query, const std::vector<std::string_view>& extra) {
    ListParams out;
    std::vector<FieldError> errors;
    auto allowed = [&](std::string_view name) {
        return std::find(extra.begin(), extra.end(), name) != extra.end();
    };
    for (std::size_t i = 0; i < query.size(); ++i) {
        const auto& [name, value] = query[i];
        if (seen_before(query, i)) {
            errors.push_back({name, "given more than once"});
            continue;
        }
        if (name == "limit") {
            std::size_t n = 0;
            auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
            bool digits = !value.empty() && std::all_of(value.begin(), value.end(), [](char c) {
                return c >= '0' && c <= '9';
            });
            if (!digits || ec != std::errc() || ptr != value.data() + value.size() || n < 1 ||
                n > kMaxLimit)
                errors.push_back(
                    {"limit", "must be an integer from 1 to " + std::to_string(kMaxLimit)});
            else
                out.limit = n;
        } else if (name == "cursor") {
            if (value.empty() || value.size() > kMaxCursorLength)
                errors.push_back({"cursor", "is not a valid cursor"});
            else
                out.cursor = value;
        } else if (name == "thread_id" && allowed("thread_id")) {
            if (!is_id(value, "thr"))
                errors.push_back({"thread_id", "must be a thread id (thr_…)"});
            else
                out.thread_id = value;
        } else if (name == "access_token") {
            errors.push_back({name, "tokens are accepted only in the Authorization header"});
        } else {
            errors.push_back({name, "unknown query parameter"});
        }
    }
    if (!errors.empty()) return tl::unexpected(std::move(errors));
    return out;
}

std::vector<FieldError> reject_params(const QueryParams& query) {
    std::vector<FieldError> errors;
    for (const auto& [name, value] : query)
        errors.push_back({name, name == "access_token"
                                    ? "tokens are accepted only in the Authorization header"
                                    : "unknown query parameter"});
    return errors;
}

}  // namespace postern::api
