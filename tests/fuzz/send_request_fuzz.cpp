// Fuzz target: the JSON body of the REST sending routes (api::parse_send_request), then the
// MIME builder (mime::build_message, GMime) on every body it accepts, as POST
// /v1/mailboxes/{mailbox}/messages does. The first byte picks the route (send, reply, forward);
// the rest is the body. Invariants checked:
// - an accepted body respects the request bounds: at most 100 recipients in each list, 100
//   attachments, 50 extra headers, none of them structural, no CR or LF in a header or subject;
// - a refused body is a 400 or a 422 problem that names at least one field;
// - the builder either builds the message or refuses it as invalid_argument (the route's 422),
//   never fails otherwise (which the route answers with a 500);
// - a built message has CRLF line ends only and no line over 998 octets (RFC 5322 §2.1.1), and
//   reads back through mime::parse with the same To, Cc and attachment counts.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/mime.hpp"
#include "invariant.hpp"
#include "send_request.hpp"

using namespace postern;

namespace {

bool has_crlf(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

void check_raw(std::string_view raw) {
    std::size_t line = 0;
    for (std::size_t i = 0; i < raw.size(); ++i) {
        if (raw[i] == '\r') {
            FUZZ_CHECK(i + 1 < raw.size() && raw[i + 1] == '\n');
            FUZZ_CHECK(line <= 998);
            line = 0;
            ++i;
        } else {
            FUZZ_CHECK(raw[i] != '\n');
            ++line;
        }
    }
    FUZZ_CHECK(line <= 998);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const bool ready = (mime::init(), true);
    (void)ready;
    if (size == 0) return 0;
    const auto kind = static_cast<api::SendKind>(data[0] % 3);
    std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);

    auto req = api::parse_send_request(body, kind);
    if (!req) {
        FUZZ_CHECK(req.error().status == 400 || req.error().status == 422);
        FUZZ_CHECK(req.error().body.find("\"errors\"") != std::string::npos);
        return 0;
    }
    FUZZ_CHECK(req->to.size() <= 100 && req->cc.size() <= 100 && req->bcc.size() <= 100);
    FUZZ_CHECK(req->attachments.size() <= 100 && req->headers.size() <= 50);
    FUZZ_CHECK(!has_crlf(req->subject));
    for (const auto& h : req->headers) {
        FUZZ_CHECK(!mime::is_structural_header(h.name));
        FUZZ_CHECK(!has_crlf(h.name) && !has_crlf(h.value));
    }

    mime::Outgoing out = api::outgoing_of(*req);  // as the routes make it
    out.from = {"Agent", "agent@example.com"};
    out.hostname = "mx.example.com";
    out.date_ms = 1795000000000;
    auto built = mime::build_message(out);
    if (!built) {
        FUZZ_CHECK(built.error().code() == Errc::invalid_argument);
        return 0;
    }
    check_raw(built->raw);
    auto parsed = mime::parse(built->raw);
    FUZZ_CHECK(parsed.has_value());
    FUZZ_CHECK(parsed->summary.to.size() == out.to.size());
    FUZZ_CHECK(parsed->summary.cc.size() == out.cc.size());
    FUZZ_CHECK(parsed->attachments.size() == out.attachments.size());
    return 0;
}
