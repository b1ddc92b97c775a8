// Fuzz target: the SMTP command parser and the session state machine behind it. The input is a
// client's side of a conversation; the first byte picks the chunk size the bytes arrive in and
// the listener: bit 6 a submission listener under TLS (AUTH, BDAT), bit 7 STARTTLS offered.
// Invariants checked: no crash or leak (sanitizers), every reply is well formed, the bytes are
// consumed in full or what is left is less than one command line, and a line that parses as a
// path argument has its mailbox inside the line.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "invariant.hpp"
#include "smtpd/proto/command.hpp"
#include "smtpd/proto/session.hpp"

using namespace postern::smtp;

namespace {

void check_reply(const Reply& r) {
    const std::string& t = r.text;
    FUZZ_CHECK(t.size() >= 6 && t.compare(t.size() - 2, 2, "\r\n") == 0);
    FUZZ_CHECK(r.code >= 200 && r.code <= 599);
    FUZZ_CHECK(t.compare(0, 3, std::to_string(r.code)) == 0);
    // A reply never carries a bare CR or LF (no reply injection from client input).
    for (std::size_t i = 0; i < t.size(); ++i) {
        if (t[i] == '\r') FUZZ_CHECK(i + 1 < t.size() && t[i + 1] == '\n');
        if (t[i] == '\n') FUZZ_CHECK(i > 0 && t[i - 1] == '\r');
    }
}

// Answers effects deterministically from the input itself.
void perform(Session& s, Actions& actions, std::uint8_t salt) {
    for (std::size_t i = 0; i < actions.size(); ++i) {
        Action a = std::move(actions[i]);
        if (auto* r = std::get_if<Reply>(&a)) {
            check_reply(*r);
        } else if (auto* l = std::get_if<LookupRecipient>(&a)) {
            RecipientVerdict v;
            v.kind = static_cast<RecipientVerdict::Kind>((l->key.size() + salt) % 4);
            v.mailbox_id = "mbx_" + l->key;
            v.tenant_id = "ten_1";
            s.on_result(v, actions);
        } else if (std::holds_alternative<StartTls>(a)) {
            s.on_tls_started(actions);
        } else if (auto* au = std::get_if<Authenticate>(&a)) {
            FUZZ_CHECK(!au->username.empty() && !au->password.empty());
            AuthVerdict v;
            v.kind = static_cast<AuthVerdict::Kind>((au->password.size() + salt) % 3);
            v.identity = AuthIdentity{"mbx_1", "ten_1", au->username, au->username};
            if (salt % 7 == 0) v.send_refused = "not verified";
            s.on_result(v, actions);
        } else if (auto* m = std::get_if<StoreMessage>(&a)) {
            FUZZ_CHECK(!m->recipients.empty());
            const std::size_t n = m->body.size() + salt;
            // Stored, failed (451), or refused by policy (550 5.7.1).
            s.on_result(StoreOutcome{n % 5 != 0, "smtp_FUZZ", n % 10 == 5 ? "by policy" : ""},
                        actions);
        }
    }
    actions.clear();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::uint8_t salt = data[0];
    const std::size_t chunk = 1 + salt % 64;
    std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);

    // The parser alone, on the input taken as one line.
    std::string_view line = input.substr(0, input.find('\n'));
    Command c = parse_command(line);
    FUZZ_CHECK(c.arg.size() <= line.size());
    for (std::string_view prefix : {"FROM:", "TO:"}) {
        if (auto p = parse_path_argument(c.arg, prefix)) {
            FUZZ_CHECK(p->mailbox.data() >= c.arg.data() &&
                       p->mailbox.data() + p->mailbox.size() <= c.arg.data() + c.arg.size());
        }
    }
    (void)is_valid_helo_name(c.arg);

    // The whole session.
    SessionOptions options;
    options.hostname = "mx.fuzz";
    options.client_ip = "192.0.2.1";
    options.max_message_size = 4096;
    options.max_recipients = 4;
    options.max_errors = salt % 2 ? 0 : 20;
    options.submission = salt & 0x40;
    options.tls_active = salt & 0x40;
    options.tls_offered = salt & 0x80;
    Session s(options);
    Actions actions;
    s.on_connect(actions);
    perform(s, actions, salt);
    std::string buffer;
    for (std::size_t pos = 0; pos < input.size() && !s.closed(); pos += chunk) {
        buffer.append(input.substr(pos, chunk));
        for (;;) {
            std::size_t used = s.feed(buffer, actions);
            FUZZ_CHECK(used <= buffer.size());
            buffer.erase(0, used);
            perform(s, actions, salt);
            FUZZ_CHECK(!s.waiting());
            if (used == 0 || buffer.empty() || s.closed()) break;
        }
        if (!s.closed() && !s.in_data()) FUZZ_CHECK(buffer.size() < Session::kMaxCommandLine);
    }
    s.on_timeout(actions);
    perform(s, actions, salt);
    return 0;
}
