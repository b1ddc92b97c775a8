// The live reasoning provider: one bounded HTTP(S) POST to an OpenAI-compatible chat
// completions endpoint (Beast over Asio, OpenSSL for https with peer and host name checks).
#include "apid/live_reasoner.hpp"

#include <openssl/ssl.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <optional>

namespace postern::api {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;

constexpr std::size_t kMaxResponseBytes = 256 * 1024;

constexpr const char* kSystemPrompt =
    "You advise the person or agent handling one business email or app event. A deterministic "
    "policy engine has already classified it and decided which operations are applied, reviewed "
    "or blocked; you cannot change that, send anything, or approve anything. Reply with one "
    "short instruction (at most two sentences) for how to handle it well. No preamble.";

// Keeps printable text and single spaces; drops control characters; caps the length on a UTF-8
// boundary.
std::string clean_instruction(std::string_view in) {
    std::string out;
    bool space = false;
    for (unsigned char ch : in) {
        if (ch < 0x20 || ch == 0x7f) {
            space = !out.empty();
            continue;
        }
        if (ch == ' ') {
            space = !out.empty();
            continue;
        }
        if (space) out += ' ';
        space = false;
        out += static_cast<char>(ch);
    }
    if (out.size() > LiveReasoner::kMaxInstruction) {
        std::size_t n = LiveReasoner::kMaxInstruction;
        while (n > 0 && (static_cast<unsigned char>(out[n]) & 0xC0) == 0x80) --n;
        out.resize(n);
    }
    return out;
}

struct Target {
    bool tls = false;
    std::string host, port, path;
};

std::optional<Target> parse_target(const std::string& url) {
    auto u = boost::urls::parse_uri(url);
    if (!u) return std::nullopt;
    Target t;
    t.tls = u->scheme() == "https";
    if (!t.tls && u->scheme() != "http") return std::nullopt;
    t.host = std::string(u->encoded_host());
    if (t.host.empty()) return std::nullopt;
    t.port = u->has_port() ? std::string(u->port()) : (t.tls ? "443" : "80");
    t.path = std::string(u->encoded_path());
    if (t.path.empty()) t.path = "/";
    if (u->has_query()) t.path += "?" + std::string(u->encoded_query());
    return t;
}

// Runs the exchange queued on `ioc` for at most `timeout`. On timeout the context is stopped:
// the streams' destructors then cancel what is pending, and the context's destructor discards
// those handlers without running them.
void run_bounded(asio::io_context& ioc, std::chrono::milliseconds timeout,
                 beast::error_code& failed) {
    ioc.run_for(timeout);
    if (!ioc.stopped()) {
        failed = asio::error::timed_out;
        ioc.stop();
    }
}

}  // namespace

LiveAdvice LiveReasoner::advise(const std::string& context) const {
    LiveAdvice advice;
    auto target = parse_target(options_.endpoint);
    if (!target) {
        advice.failure = "reasoning_endpoint is not a usable http(s) URL";
        return advice;
    }
    json::object request{
        {"model", options_.model},
        {"temperature", 0},
        {"max_tokens", options_.max_tokens},
        {"messages", json::array{json::object{{"role", "system"}, {"content", kSystemPrompt}},
                                 json::object{{"role", "user"}, {"content", context}}}}};
    http::request<http::string_body> req{http::verb::post, target->path, 11};
    req.set(http::field::host, target->host);
    req.set(http::field::content_type, "application/json");
    req.set(http::field::accept, "application/json");
    req.set(http::field::user_agent, "postern-apid");
    if (!options_.api_key.empty())
        req.set(http::field::authorization, "Bearer " + options_.api_key);
    req.body() = json::serialize(request);
    req.prepare_payload();

    asio::io_context ioc;
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(kMaxResponseBytes);
    beast::error_code failed;
    const auto deadline = options_.timeout;

    tcp::resolver resolver(ioc);
    // Resolve, connect, `handshake` (TLS, or nothing), write, read: the same chain for both
    // kinds of stream, run on `ioc` for at most the deadline.
    auto exchange = [&](auto& stream, auto handshake) {
        beast::get_lowest_layer(stream).expires_after(deadline);
        auto send = [&](beast::error_code ec) {
            if (ec) return void(failed = ec);
            http::async_write(stream, req, [&](beast::error_code ec, std::size_t) {
                if (ec) return void(failed = ec);
                http::async_read(stream, buffer, parser,
                                 [&](beast::error_code ec, std::size_t) { failed = ec; });
            });
        };
        resolver.async_resolve(target->host, target->port,
                               [&, send](beast::error_code ec, tcp::resolver::results_type r) {
                                   if (ec) return void(failed = ec);
                                   beast::get_lowest_layer(stream).async_connect(
                                       r, [&, send](beast::error_code ec, const tcp::endpoint&) {
                                           if (ec) return void(failed = ec);
                                           handshake(send);
                                       });
                               });
        run_bounded(ioc, deadline, failed);
    };
    if (target->tls) {
        asio::ssl::context ctx(asio::ssl::context::tls_client);
        ctx.set_default_verify_paths();
        ctx.set_verify_mode(asio::ssl::verify_peer);
        ctx.set_verify_callback(asio::ssl::host_name_verification(target->host));
        asio::ssl::stream<beast::tcp_stream> stream(ioc, ctx);
        SSL_set_tlsext_host_name(stream.native_handle(), target->host.c_str());
        exchange(stream,
                 [&](auto send) { stream.async_handshake(asio::ssl::stream_base::client, send); });
    } else {
        beast::tcp_stream stream(ioc);
        exchange(stream, [](auto send) { send(beast::error_code()); });
    }
    if (failed) {
        advice.failure = failed == asio::error::timed_out || failed == beast::error::timeout
                             ? "timeout"
                             : "transport: " + failed.message();
        return advice;
    }
    if (!parser.is_done()) {
        advice.failure = "incomplete response";
        return advice;
    }
    const auto& res = parser.get();
    if (res.result_int() < 200 || res.result_int() > 299) {
        advice.failure = "status " + std::to_string(res.result_int());
        return advice;
    }
    // choices[0].message.content
    boost::system::error_code ec;
    json::value v = json::parse(res.body(), ec);
    const json::value* content = nullptr;
    if (!ec && v.is_object())
        if (auto* choices = v.get_object().if_contains("choices");
            choices && choices->is_array() && !choices->get_array().empty() &&
            choices->get_array()[0].is_object())
            if (auto* msg = choices->get_array()[0].get_object().if_contains("message");
                msg && msg->is_object())
                content = msg->get_object().if_contains("content");
    if (!content || !content->is_string()) {
        advice.failure = "no choices[0].message.content in the reply";
        return advice;
    }
    advice.instruction = clean_instruction(content->get_string());
    if (advice.instruction.empty()) {
        advice.failure = "empty instruction";
        return advice;
    }
    advice.used = true;
    return advice;
}

void LiveReasoner::apply(json::object& response, const LiveAdvice& advice) const {
    auto* r = response.if_contains("reasoning");
    if (!r || !r->is_object()) return;
    json::object& o = r->get_object();
    if (advice.used) {
        o["provider"] = "mundox";
        o["mode"] = "live";
        o["model"] = options_.model;
        o["usedLiveModel"] = true;
        o["recommendedInstruction"] = advice.instruction;
    } else {
        o["usedLiveModel"] = false;
        o["liveFallback"] = advice.failure;
    }
}

}  // namespace postern::api
