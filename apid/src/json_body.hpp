#pragma once
// Request bodies as JSON (RFC 8259), read the one way every route reads them.
#include <boost/json/parse_options.hpp>
#include <boost/json/storage_ptr.hpp>
#include <boost/json/value.hpp>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace postern::api {

// `text` parsed by boost::json, and refused where boost::json would let it through: a name
// twice in one object (boost::json keeps the last; RFC 8259 §4 leaves the result to each
// reader, RFC 7493 §2.3 forbids it), since two readers of one body must not see two requests.
// The error is what to say of the body: "is not valid JSON: …" or "names \"key\" twice …".
tl::expected<boost::json::value, std::string> parse_json(
    std::string_view text, boost::json::storage_ptr sp = {},
    const boost::json::parse_options& opt = {});

}  // namespace postern::api
