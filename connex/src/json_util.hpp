#pragma once
// Small helpers over Boost.JSON and the request view shared by the evaluator's sources.
// Private to postern_connex.
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <string>
#include <string_view>

namespace postern::connex {

// A string member, or empty when absent or not a string.
std::string_view str(const boost::json::object* o, std::string_view key);
inline std::string_view str(const boost::json::object& o, std::string_view key) {
    return str(&o, key);
}
const boost::json::object* obj(const boost::json::object* o, std::string_view key);
// A number member as double, or nullopt.
bool number(const boost::json::object* o, std::string_view key, double& out);

// "Dana Ruiz <dana@example.com>" → "dana@example.com".
std::string_view address_of(std::string_view from);

std::uint64_t fnv1a(std::string_view s, std::uint64_t h = 0xcbf29ce484222325ull);
std::string hex16(std::uint64_t v);

// The request fields the evaluator reads, as views into the request object.
struct RequestView {
    std::string_view app, current_status, subject, body, from, to;
    bool has_current = false;
    std::string_view event_type, source_system, source_event_id;
    bool materialize_safe = false;
    bool has_mailbox = false;
    std::string_view owner, reply_policy, external_reply_url;  // effective values
    std::string_view object_type, object_id, message_id, thread_id;
    std::string_view actor_id, actor_type, actor_label;
    const boost::json::object* workflow = nullptr;
    const boost::json::object* context = nullptr;
    bool inbound = true;  // eventType absent or "inbound_*"
};

RequestView read_request(const boost::json::object& req);

}  // namespace postern::connex
