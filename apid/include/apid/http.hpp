#pragma once
// The HTTP-agnostic request and response that the handler layer works on. The Beast session
// (src/server.cpp) converts to and from these, so everything above the socket is testable
// without one. Plain values; no Asio or Beast here.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace postern::api {

struct Request {
    std::string method;                        // "GET", as received (case-sensitive, RFC 9110)
    std::string target;                        // origin-form request target: path and query
    std::optional<std::string> authorization;  // the Authorization header value, if present
};

struct Response {
    unsigned status = 200;
    std::string content_type;  // empty: no body
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;  // extra fields, e.g. Allow

    // A JSON body (already serialised) with `application/json`.
    static Response json(unsigned status, std::string body);
    void add_header(std::string name, std::string value) {
        headers.emplace_back(std::move(name), std::move(value));
    }
    // The value of an extra header field (ASCII case-insensitive), or nullptr.
    const std::string* header(std::string_view name) const;
};

}  // namespace postern::api
