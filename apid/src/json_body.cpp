#include "json_body.hpp"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/parse.hpp>
#include <optional>
#include <unordered_set>
#include <vector>

namespace postern::api {
namespace {

namespace json = boost::json;
using json::error_code;
using json::string_view;

// A basic_parser handler that only remembers the names of the objects open at the moment and
// stops at the first name an object already has.
struct DuplicateNames {
    static constexpr std::size_t max_array_size = -1;
    static constexpr std::size_t max_object_size = -1;
    static constexpr std::size_t max_string_size = -1;
    static constexpr std::size_t max_key_size = -1;

    std::vector<std::unordered_set<std::string>> open;  // the names of each open object
    std::string name;                                   // the name being read
    std::optional<std::string> duplicate;

    bool on_document_begin(error_code&) { return true; }
    bool on_document_end(error_code&) { return true; }
    bool on_array_begin(error_code&) { return true; }
    bool on_array_end(std::size_t, error_code&) { return true; }
    bool on_object_begin(error_code&) {
        open.emplace_back();
        return true;
    }
    bool on_object_end(std::size_t, error_code&) {
        open.pop_back();
        return true;
    }
    bool on_string_part(string_view, std::size_t, error_code&) { return true; }
    bool on_string(string_view, std::size_t, error_code&) { return true; }
    bool on_key_part(string_view s, std::size_t, error_code&) {
        name.append(s.data(), s.size());
        return true;
    }
    bool on_key(string_view s, std::size_t, error_code& ec) {
        name.append(s.data(), s.size());
        if (!open.back().insert(name).second) {
            duplicate = std::move(name);
            ec = json::error::syntax;  // any error: it stops the parser
            return false;
        }
        name.clear();
        return true;
    }
    bool on_number_part(string_view, error_code&) { return true; }
    bool on_int64(std::int64_t, string_view, error_code&) { return true; }
    bool on_uint64(std::uint64_t, string_view, error_code&) { return true; }
    bool on_double(double, string_view, error_code&) { return true; }
    bool on_bool(bool, error_code&) { return true; }
    bool on_null(error_code&) { return true; }
    bool on_comment_part(string_view, error_code&) { return true; }
    bool on_comment(string_view, error_code&) { return true; }
};

}  // namespace

tl::expected<json::value, std::string> parse_json(std::string_view text, json::storage_ptr sp,
                                                  const json::parse_options& opt) {
    error_code ec;
    json::value v = json::parse(text, ec, std::move(sp), opt);
    if (ec) return tl::unexpected("is not valid JSON: " + ec.message());
    // Valid JSON: a second, value-free pass looks for a repeated name.
    json::basic_parser<DuplicateNames> names(opt);
    names.write_some(false, text.data(), text.size(), ec);
    if (auto& d = names.handler().duplicate)
        return tl::unexpected(d->size() <= 64 ? "names \"" + *d + "\" twice in one object"
                                              : std::string("names a key twice in one object"));
    return v;
}

}  // namespace postern::api
