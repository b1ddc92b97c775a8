#include "json_body.hpp"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/value_stack.hpp>
#include <optional>
#include <unordered_set>
#include <vector>

namespace postern::api {
namespace {

namespace json = boost::json;
using json::error_code;
using json::string_view;

// A basic_parser handler that builds the value, as boost::json::parser's own does (through a
// value_stack), and stops at the first name an object already has: one pass over the text.
struct BuildWithoutDuplicateNames {
    static constexpr std::size_t max_object_size = json::object::max_size();
    static constexpr std::size_t max_array_size = json::array::max_size();
    static constexpr std::size_t max_key_size = json::string::max_size();
    static constexpr std::size_t max_string_size = json::string::max_size();

    json::value_stack st;
    std::vector<std::unordered_set<std::string>> open;  // the names of each open object
    std::string name;                                   // the name being read
    std::optional<std::string> duplicate;

    bool on_document_begin(error_code&) { return true; }
    bool on_document_end(error_code&) { return true; }
    bool on_array_begin(error_code&) { return true; }
    bool on_array_end(std::size_t n, error_code&) {
        st.push_array(n);
        return true;
    }
    bool on_object_begin(error_code&) {
        open.emplace_back();
        return true;
    }
    bool on_object_end(std::size_t n, error_code&) {
        open.pop_back();
        st.push_object(n);
        return true;
    }
    bool on_string_part(string_view s, std::size_t, error_code&) {
        st.push_chars(s);
        return true;
    }
    bool on_string(string_view s, std::size_t, error_code&) {
        st.push_string(s);
        return true;
    }
    bool on_key_part(string_view s, std::size_t, error_code&) {
        name.append(s.data(), s.size());
        st.push_chars(s);
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
        st.push_key(s);
        return true;
    }
    bool on_number_part(string_view, error_code&) { return true; }
    bool on_int64(std::int64_t i, string_view, error_code&) {
        st.push_int64(i);
        return true;
    }
    bool on_uint64(std::uint64_t u, string_view, error_code&) {
        st.push_uint64(u);
        return true;
    }
    bool on_double(double d, string_view, error_code&) {
        st.push_double(d);
        return true;
    }
    bool on_bool(bool b, error_code&) {
        st.push_bool(b);
        return true;
    }
    bool on_null(error_code&) {
        st.push_null();
        return true;
    }
    bool on_comment_part(string_view, error_code&) { return true; }
    bool on_comment(string_view, error_code&) { return true; }
};

}  // namespace

tl::expected<json::value, std::string> parse_json(std::string_view text, json::storage_ptr sp,
                                                  const json::parse_options& opt) {
    json::basic_parser<BuildWithoutDuplicateNames> p(opt);
    auto& h = p.handler();
    h.st.reset(std::move(sp));  // the storage of the value built
    error_code ec;
    const std::size_t n = p.write_some(false, text.data(), text.size(), ec);
    if (auto& d = h.duplicate)
        return tl::unexpected(d->size() <= 64 ? "names \"" + *d + "\" twice in one object"
                                              : std::string("names a key twice in one object"));
    if (!ec && n < text.size()) ec = json::error::extra_data;  // as boost::json::parse
    if (ec) return tl::unexpected("is not valid JSON: " + ec.message());
    return h.st.release();
}

}  // namespace postern::api
