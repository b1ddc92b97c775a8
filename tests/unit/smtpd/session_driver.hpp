#pragma once
// Drives a smtp::Session the way the Asio shell does, without sockets: input is fed in chunks of
// a chosen size (so that lines and the end-of-data marker straddle chunk boundaries), effects are
// answered from a small fake directory, and stored messages are kept for inspection.
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "smtpd/proto/session.hpp"

namespace postern::smtp::test {

struct World {
    std::set<std::string> mailboxes{"alice@example.com", "bob@example.com", "jörg@example.com",
                                    "carl@example.org", "dave@example.org"};
    std::set<std::string> domains{"example.com", "example.org"};
    // As [smtp] postmaster: takes "postmaster" in a hosted domain without such a mailbox, and
    // <Postmaster> with no domain (RecipientDirectory::lookup).
    std::string postmaster = "alice@example.com";
    bool lookup_fails = false;
    bool store_fails = false;
    bool store_full = false;          // the store fails for want of room (SQLITE_FULL)
    std::uint64_t room = UINT64_MAX;  // set before each feed, as the shell does (DiskRoom)
    std::string refuse;               // answer StoreMessage with this policy refusal (550 5.7.1)
    int refuse_code = 550;
    // AUTH: username -> the one password accepted for it; others are invalid.
    std::map<std::string, std::string> accounts{{"alice@example.com", "pst_alice"}};
    bool auth_fails = false;   // the lookup fails: temp_failure
    std::string send_refused;  // handed out with every successful AUTH
    std::vector<Authenticate> auths;
    int tls_started = 0;
    std::vector<StoreMessage> stored;
    std::vector<StartSpf> spf_started;
    bool closed = false;
    std::string replies;  // every reply, as sent

    void perform(Session& s, Actions& actions) {
        for (std::size_t i = 0; i < actions.size(); ++i) {
            Action a = std::move(actions[i]);
            if (auto* r = std::get_if<Reply>(&a)) {
                if (!closed) replies += r->text;
            } else if (auto* l = std::get_if<LookupRecipient>(&a)) {
                RecipientVerdict v;
                if (lookup_fails) {
                    v.kind = RecipientVerdict::Kind::temp_failure;
                } else if (mailboxes.count(l->key)) {
                    v.kind = RecipientVerdict::Kind::accept;
                    v.mailbox_id = "mbx_" + l->key;
                    v.tenant_id = "ten_1";
                } else if (l->postmaster && !postmaster.empty() &&
                           (l->domain.empty() || domains.count(l->domain))) {
                    v.kind = RecipientVerdict::Kind::accept;
                    v.mailbox_id = "mbx_" + postmaster;
                    v.tenant_id = "ten_1";
                } else if (l->domain.empty() || domains.count(l->domain)) {
                    v.kind = RecipientVerdict::Kind::no_such_user;
                } else {
                    v.kind = RecipientVerdict::Kind::not_hosted;
                }
                s.on_result(v, actions);
            } else if (auto* spf = std::get_if<StartSpf>(&a)) {
                spf_started.push_back(std::move(*spf));
            } else if (std::holds_alternative<StartTls>(a)) {
                ++tls_started;
                s.on_tls_started(actions);
            } else if (auto* au = std::get_if<Authenticate>(&a)) {
                AuthVerdict v;
                auto it = accounts.find(au->username);
                if (auth_fails) {
                    v.kind = AuthVerdict::Kind::temp_failure;
                } else if (it != accounts.end() && it->second == au->password) {
                    v.kind = AuthVerdict::Kind::ok;
                    v.identity =
                        AuthIdentity{"mbx_" + au->username, "ten_1", au->username, au->username};
                    v.send_refused = send_refused;
                } else {
                    v.kind = AuthVerdict::Kind::invalid;
                }
                auths.push_back(std::move(*au));
                s.on_result(v, actions);
            } else if (auto* m = std::get_if<StoreMessage>(&a)) {
                StoreOutcome o{!store_fails && !store_full && refuse.empty(), "smtp_TEST", refuse,
                               refuse_code};
                o.no_room = store_full;
                if (o.ok) stored.push_back(std::move(*m));
                s.on_result(o, actions);
            } else {
                closed = true;
            }
        }
        actions.clear();
    }

    // Feeds `input` `chunk` bytes at a time, keeping unconsumed bytes as the shell does.
    void feed(Session& s, std::string_view input, std::size_t chunk) {
        std::string buffer;
        Actions actions;
        for (std::size_t pos = 0; pos < input.size() && !closed; pos += chunk) {
            buffer.append(input.substr(pos, chunk));
            for (;;) {
                s.set_room(room);
                std::size_t used = s.feed(buffer, actions);
                buffer.erase(0, used);
                perform(s, actions);
                if (used == 0 || buffer.empty() || closed) break;
            }
        }
    }
};

inline SessionOptions test_options() {
    SessionOptions o;
    o.hostname = "mx.test";
    o.client_ip = "192.0.2.7";
    o.max_message_size = 1000;
    o.max_recipients = 3;
    o.max_errors = 5;
    return o;
}

// A submission listener under implicit TLS (port 465).
inline SessionOptions submission_options() {
    SessionOptions o = test_options();
    o.submission = true;
    o.tls_offered = true;
    o.tls_active = true;
    o.max_auth_failures = 3;
    o.max_errors = 20;
    return o;
}

// Runs a whole conversation: greeting, then `input`.
inline World converse(std::string_view input, std::size_t chunk = SIZE_MAX,
                      SessionOptions options = test_options(), World world = {}) {
    Session s(options);
    Actions actions;
    s.on_connect(actions);
    world.perform(s, actions);
    world.feed(s, input, chunk == SIZE_MAX ? input.size() + 1 : chunk);
    return world;
}

// The status of every reply, one per reply: "250 2.1.0", or the code alone when the reply has
// no enhanced status code (220, 354, the EHLO response). Joined with '|'.
inline std::string codes(std::string_view replies) {
    std::string out;
    while (!replies.empty()) {
        std::size_t eol = replies.find("\r\n");
        std::string_view line = replies.substr(0, eol);
        replies.remove_prefix(eol == std::string_view::npos ? replies.size() : eol + 2);
        if (line.size() >= 4 && line[3] == '-') continue;  // not the last line of the reply
        if (!out.empty()) out += '|';
        out += line.substr(0, 3);
        std::string_view rest = line.size() > 4 ? line.substr(4) : std::string_view();
        std::string_view second = rest.substr(0, rest.find(' '));
        if (second.size() >= 5 && second[1] == '.' && second[0] >= '2' && second[0] <= '5')
            (out += ' ') += second;
    }
    return out;
}

}  // namespace postern::smtp::test
