#include "smtpd/proto/session.hpp"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <utility>

#include "common/address.hpp"
#include "common/ascii.hpp"

namespace postern::smtp {
namespace {

// Never preallocate more than this for a body, whatever SIZE= says: memory follows the bytes
// that actually arrive.
constexpr std::uint64_t kMaxReserve = 256 * 1024;

// "a@example.com." names the same mailbox as "a@example.com" (parse_address drops the root's
// dot when it looks up): the envelope keeps the usual form. Only for a parsed address.
std::string_view without_root_dot(std::string_view mailbox) {
    if (!mailbox.empty() && mailbox.back() == '.') mailbox.remove_suffix(1);
    return mailbox;
}

}  // namespace

Session::Session(SessionOptions options)
    : options_(std::move(options)), tls_(options_.tls_active) {}

std::string Session::too_many_connections(std::string_view hostname) {
    std::string s = "421 4.7.0 ";
    s += hostname;
    s += " Too many connections, try again later\r\n";
    return s;
}

void Session::reply(Actions& out, int code, std::string_view text) {
    std::string line = std::to_string(code);
    line += ' ';
    // One line, whatever the text holds: a CR or LF in it (an address or name that came from
    // outside) must not start a second reply (found by the command fuzzer).
    for (char ch : text) line += (ch == '\r' || ch == '\n') ? ' ' : ch;
    line += "\r\n";
    out.emplace_back(Reply{code, std::move(line)});
    if (code < 500 || closed_) return;
    ++errors_;
    if (options_.max_errors != 0 && errors_ >= options_.max_errors) {
        out.emplace_back(Reply{
            421, "421 4.7.0 " + options_.hostname + " Too many errors, closing connection\r\n"});
        out.emplace_back(Close{});
        closed_ = true;
    }
}

void Session::on_connect(Actions& out) { reply(out, 220, options_.hostname + " ESMTP Postern"); }

void Session::on_timeout(Actions& out) {
    if (closed_) return;
    reply(out, 421, "4.4.2 " + options_.hostname + " Idle timeout, closing connection");
    out.emplace_back(Close{});
    closed_ = true;
}

void Session::on_shutdown(Actions& out) {
    if (closed_) return;
    reply(out, 421, "4.3.2 " + options_.hostname + " Service shutting down, try again later");
    out.emplace_back(Close{});
    closed_ = true;
}

std::size_t Session::feed(std::string_view bytes, Actions& out) {
    std::size_t used = 0;
    while (used < bytes.size() && !closed_ && pending_ == Pending::none) {
        std::string_view rest = bytes.substr(used);
        if (phase_ == Phase::data) {
            used += data_.feed(rest, txn_.body);
            if (data_.done()) end_of_data(out);
            continue;
        }
        if (phase_ == Phase::chunk) {
            std::size_t n =
                static_cast<std::size_t>(std::min<std::uint64_t>(chunk_left_, rest.size()));
            if (chunk_refusal_code_ == 0) data_.feed_chunk(rest.substr(0, n), txn_.body);
            chunk_left_ -= n;
            used += n;
            if (chunk_left_ == 0) end_of_chunk(out);
            continue;
        }
        if (discarding_) {
            std::size_t lf = rest.find('\n');
            if (lf == std::string_view::npos) return bytes.size();
            used += lf + 1;
            discarding_ = false;
            continue;
        }
        // Look for the end of the line only as far as a legal line can reach.
        std::string_view window = rest.substr(0, kMaxCommandLine);
        std::size_t lf = window.find('\n');
        if (lf == std::string_view::npos) {
            if (rest.size() < kMaxCommandLine) break;          // wait for the rest of the line
            if (phase_ == Phase::auth) phase_ = Phase::ready;  // the exchange is over
            reply(out, 500, "5.5.2 Line too long");
            discarding_ = true;
            used += window.size();
            continue;
        }
        std::string_view line = rest.substr(0, lf);
        used += lf + 1;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        more_input_ = used < bytes.size();
        on_line(line, out);
        more_input_ = false;
    }
    return used;
}

bool Session::need_helo(Actions& out) {
    if (phase_ != Phase::need_helo) return false;
    reply(out, 503, "5.5.1 Send HELO or EHLO first");
    return true;
}

void Session::on_line(std::string_view line, Actions& out) {
    if (closed_) return;
    if (line.find_first_of(std::string_view("\r\0", 2)) != std::string_view::npos) {
        reply(out, 500, "5.5.2 Syntax error: control characters in command");
        return;
    }
    if (phase_ == Phase::auth) return sasl_response(line, out);
    Command cmd = parse_command(line);
    switch (cmd.verb) {
        case Verb::helo:
        case Verb::ehlo:
            cmd_helo(cmd.arg, cmd.verb == Verb::ehlo, out);
            return;
        case Verb::mail:
            cmd_mail(cmd.arg, out);
            return;
        case Verb::rcpt:
            cmd_rcpt(cmd.arg, out);
            return;
        case Verb::data:
            cmd_data(cmd.arg, out);
            return;
        case Verb::rset:
            if (!cmd.arg.empty()) return reply(out, 501, "5.5.4 Syntax: RSET");
            reset_transaction();
            return reply(out, 250, "2.0.0 OK");
        case Verb::noop:
            return reply(out, 250, "2.0.0 OK");
        case Verb::quit:
            reply(out, 221, "2.0.0 " + options_.hostname + " closing connection");
            out.emplace_back(Close{});
            closed_ = true;
            return;
        case Verb::help:
            return reply(out, 214,
                         "2.0.0 Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT HELP VRFY");
        case Verb::vrfy:
            if (cmd.arg.empty()) return reply(out, 501, "5.5.4 Syntax: VRFY address");
            // Discloses nothing about which mailboxes exist (RFC 5321 §3.5.3, §7.3).
            return reply(out, 252, "2.5.0 Cannot VRFY user; send mail and it will be delivered");
        case Verb::bdat:
            return cmd_bdat(cmd.arg, out);
        case Verb::starttls:
            return cmd_starttls(cmd.arg, out);
        case Verb::auth:
            return cmd_auth(cmd.arg, out);
        case Verb::expn:
        case Verb::turn:
        case Verb::etrn:
            return reply(out, 502, "5.5.1 Command not implemented");
        case Verb::unknown:
            return reply(out, 500, "5.5.2 Syntax error, command unrecognized");
    }
}

void Session::reset_transaction() {
    txn_ = Transaction{};
    if (phase_ != Phase::need_helo) phase_ = Phase::ready;
}

void Session::cmd_helo(std::string_view arg, bool extended, Actions& out) {
    if (!is_valid_helo_name(arg))
        return reply(out, 501,
                     extended ? "5.5.4 Syntax: EHLO hostname" : "5.5.4 Syntax: HELO hostname");
    helo_.assign(arg);
    extended_ = extended;
    phase_ = Phase::ready;
    txn_ = Transaction{};  // RFC 5321 §4.1.4: HELO/EHLO resets the state
    if (!extended) return reply(out, 250, options_.hostname);
    std::string text = "250-" + options_.hostname + "\r\n";
    text += "250-PIPELINING\r\n";
    text += "250-SIZE " + std::to_string(options_.max_message_size) + "\r\n";
    text += "250-8BITMIME\r\n";
    text += "250-SMTPUTF8\r\n";
    text += "250-CHUNKING\r\n";
    if (options_.tls_offered && !tls_) text += "250-STARTTLS\r\n";
    if (options_.submission && tls_ && !identity_) text += "250-AUTH PLAIN LOGIN\r\n";
    text += "250 ENHANCEDSTATUSCODES\r\n";
    out.emplace_back(Reply{250, std::move(text)});
}

void Session::cmd_mail(std::string_view arg, Actions& out) {
    if (need_helo(out)) return;
    if (phase_ != Phase::ready) return reply(out, 503, "5.5.1 Nested MAIL command");
    if (options_.submission && !identity_) return reply(out, 530, "5.7.0 Authentication required");
    auto parsed = parse_path_argument(arg, "FROM:");
    if (!parsed) {
        if (parsed.error() == ArgError::syntax)
            return reply(out, 501, "5.5.4 Syntax: MAIL FROM:<address> [parameters]");
        return reply(out, 501, "5.1.7 Bad sender address syntax");
    }
    Transaction txn;
    if (!parsed->params.empty() && !extended_) return reply(out, 555, "5.5.4 Parameters need EHLO");
    for (const Param& p : parsed->params) {
        if (iequals_ascii(p.keyword, "SIZE")) {
            std::uint64_t n = 0;
            auto [ptr, ec] = std::from_chars(p.value.data(), p.value.data() + p.value.size(), n);
            bool digits = p.has_value && ptr == p.value.data() + p.value.size();
            if (ec == std::errc::result_out_of_range && digits) {
                n = UINT64_MAX;  // a number too big to hold is too big to accept
            } else if (ec != std::errc() || !digits) {
                return reply(out, 501, "5.5.4 Syntax: SIZE=<octets>");
            }
            if (n > options_.max_message_size)
                return reply(out, 552, "5.3.4 Message size exceeds fixed maximum message size");
            txn.declared_size = n;
        } else if (iequals_ascii(p.keyword, "BODY")) {
            if (iequals_ascii(p.value, "8BITMIME")) {
                txn.eightbit = true;
            } else if (!iequals_ascii(p.value, "7BIT")) {
                return reply(out, 501, "5.5.4 Syntax: BODY=7BIT or BODY=8BITMIME");
            }
        } else if (iequals_ascii(p.keyword, "SMTPUTF8")) {
            if (p.has_value) return reply(out, 501, "5.5.4 Syntax: SMTPUTF8 takes no value");
            txn.smtputf8 = true;
        } else if (iequals_ascii(p.keyword, "AUTH") && identity_) {
            // RFC 4954 §5: the submitter is already known; the value is not trusted.
        } else {
            return reply(out, 555, "5.5.4 Unsupported parameter");
        }
    }
    // RFC 1870 §6.1: a size that does not fit now (but might later) is 452, not 552.
    if (room_ == 0 || txn.declared_size > room_ / 2)
        return reply(out, 452, "4.3.1 Insufficient system storage, try again later");
    std::string_view mailbox = parsed->mailbox;
    std::optional<Address> sender;
    if (!mailbox.empty()) {
        if (!is_ascii(mailbox) && !txn.smtputf8)
            return reply(out, 553, "5.6.7 Non-ASCII address needs SMTPUTF8");
        auto address = parse_address(mailbox);
        if (!address) return reply(out, 501, "5.1.7 Bad sender address syntax");
        sender = std::move(*address);
    }
    if (identity_) {
        // Sender binding (RFC 6409 §6.1): only the authenticated mailbox's own address.
        if (!sender || sender->key() != identity_->key)
            return reply(out, 553,
                         "5.7.1 Sender address not owned by the authenticated user: use <" +
                             identity_->address + ">");
        if (!send_refused_.empty()) return reply(out, 550, "5.7.1 " + send_refused_);
    }
    txn.reverse_path.assign(without_root_dot(mailbox));
    txn_ = std::move(txn);
    phase_ = Phase::mail;
    reply(out, 250, "2.1.0 Sender OK");
    if (!options_.submission)
        out.emplace_back(StartSpf{options_.client_ip, txn_.reverse_path, helo_, options_.hostname});
}

void Session::cmd_rcpt(std::string_view arg, Actions& out) {
    if (need_helo(out)) return;
    if (phase_ != Phase::mail) return reply(out, 503, "5.5.1 Need MAIL command");
    if (txn_.chunking) return reply(out, 503, "5.5.1 RCPT not allowed after BDAT");
    auto parsed = parse_path_argument(arg, "TO:");
    if (!parsed) {
        if (parsed.error() == ArgError::syntax)
            return reply(out, 501, "5.5.4 Syntax: RCPT TO:<address>");
        return reply(out, 501, "5.1.3 Bad recipient address syntax");
    }
    txn_.rcpt_attempted = true;
    if (parsed->mailbox.empty()) return reply(out, 501, "5.1.3 Bad recipient address syntax");
    if (!parsed->params.empty()) return reply(out, 555, "5.5.4 Unsupported parameter");
    if (txn_.accepted_rcpts >= options_.max_recipients)
        return reply(out, 452, "4.5.3 Too many recipients");
    if (!is_ascii(parsed->mailbox) && !txn_.smtputf8)
        return reply(out, 553, "5.6.7 Non-ASCII address needs SMTPUTF8");
    auto address = parse_address(parsed->mailbox);
    // "<Postmaster>" without a domain MUST be accepted (RFC 5321 §4.5.1): the directory knows
    // where postmaster's mail goes ([smtp] postmaster).
    const bool bare_postmaster =
        !address && !options_.submission && iequals_ascii(parsed->mailbox, "postmaster");
    if (!address && !bare_postmaster) {
        // Valid syntax, but no mailbox here has a literal for a domain, and outbound delivery
        // takes domains only.
        if (is_address_literal_mailbox(parsed->mailbox))
            return options_.submission ? reply(out, 553, "5.1.2 Address literals are not supported")
                                       : reply(out, 550, "5.7.1 Relaying denied");
        return reply(out, 501, "5.1.3 Bad recipient address syntax");
    }
    if (options_.submission) {
        // The client authenticated: any destination. Duplicates are queued once by storage.
        txn_.recipients.push_back(
            Recipient{std::string(without_root_dot(parsed->mailbox)), {}, {}});
        ++txn_.accepted_rcpts;
        return reply(out, 250, "2.1.5 Recipient OK");
    }
    txn_.pending_rcpt.assign(without_root_dot(parsed->mailbox));
    pending_ = Pending::lookup;
    if (bare_postmaster) {
        out.emplace_back(LookupRecipient{"postmaster", {}, true});
    } else {
        out.emplace_back(LookupRecipient{address->key(), address->domain,
                                         iequals_ascii(address->local, "postmaster")});
    }
}

void Session::recipient_verdict(const RecipientVerdict& v, Actions& out) {
    std::string rcpt = std::move(txn_.pending_rcpt);
    txn_.pending_rcpt.clear();
    switch (v.kind) {
        case RecipientVerdict::Kind::accept: {
            // The same mailbox named twice gets one copy.
            bool seen =
                std::any_of(txn_.recipients.begin(), txn_.recipients.end(),
                            [&](const Recipient& r) { return r.mailbox_id == v.mailbox_id; });
            if (!seen)
                txn_.recipients.push_back(Recipient{std::move(rcpt), v.mailbox_id, v.tenant_id});
            ++txn_.accepted_rcpts;
            return reply(out, 250, "2.1.5 Recipient OK");
        }
        case RecipientVerdict::Kind::no_such_user:
            return reply(out, 550, "5.1.1 No such mailbox here");
        case RecipientVerdict::Kind::not_hosted:
            return reply(out, 550, "5.7.1 Relaying denied");
        case RecipientVerdict::Kind::temp_failure:
            return reply(out, 451, "4.3.0 Temporary lookup failure, try again later");
    }
}

void Session::cmd_data(std::string_view arg, Actions& out) {
    if (need_helo(out)) return;
    if (phase_ != Phase::mail) return reply(out, 503, "5.5.1 Need MAIL command");
    if (txn_.chunking) return reply(out, 503, "5.5.1 DATA not allowed after BDAT");
    if (!arg.empty()) return reply(out, 501, "5.5.4 Syntax: DATA");
    if (txn_.recipients.empty()) {
        if (txn_.rcpt_attempted) return reply(out, 554, "5.5.1 No valid recipients");
        return reply(out, 503, "5.5.1 Need RCPT command");
    }
    phase_ = Phase::data;
    data_.reset(options_.max_message_size);
    txn_.body.reserve(std::min<std::uint64_t>(txn_.declared_size, kMaxReserve));
    reply(out, 354, "End data with <CR><LF>.<CR><LF>");
}

namespace {

// "BDAT" SP chunk-size [SP end-marker] (RFC 3030 §2); chunk-size is 1*DIGIT.
bool parse_bdat(std::string_view arg, std::uint64_t& size, bool& last) {
    std::size_t sp = arg.find(' ');
    std::string_view digits = arg.substr(0, sp);
    if (digits.empty() || digits.size() > 19 ||
        digits.find_first_not_of("0123456789") != std::string_view::npos)
        return false;
    std::from_chars(digits.data(), digits.data() + digits.size(), size);
    last = false;
    if (sp == std::string_view::npos) return true;
    std::string_view rest = arg.substr(sp);
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    if (!iequals_ascii(rest, "LAST")) return false;
    last = true;
    return true;
}

}  // namespace

void Session::cmd_bdat(std::string_view arg, Actions& out) {
    std::uint64_t size = 0;
    bool last = false;
    if (!parse_bdat(arg, size, last)) {
        // Where its chunk ends is unknown, so whatever follows cannot be read as commands.
        reply(out, 501, "5.5.4 Syntax: BDAT <size> [LAST]; closing connection");
        if (!closed_) {
            out.emplace_back(Close{});
            closed_ = true;
        }
        return;
    }
    chunk_return_ = phase_;
    chunk_left_ = size;
    chunk_last_ = last;
    chunk_refusal_code_ = 0;
    chunk_refusal_.clear();
    // A refused BDAT is answered after its chunk, which is read and dropped.
    auto refuse = [&](int code, std::string_view text) {
        chunk_refusal_code_ = code;
        chunk_refusal_.assign(text);
    };
    if (phase_ == Phase::need_helo) {
        refuse(503, "5.5.1 Send EHLO first");
    } else if (!extended_) {
        refuse(503, "5.5.1 BDAT needs EHLO");
    } else if (phase_ != Phase::mail) {
        refuse(503, "5.5.1 Need MAIL command");
    } else if (txn_.recipients.empty()) {
        refuse(txn_.rcpt_attempted ? 554 : 503,
               txn_.rcpt_attempted ? "5.5.1 No valid recipients" : "5.5.1 Need RCPT command");
    } else if (!txn_.chunking) {
        txn_.chunking = true;
        data_.reset(options_.max_message_size);
        txn_.body.reserve(std::min<std::uint64_t>(txn_.declared_size, kMaxReserve));
    }
    phase_ = Phase::chunk;
    if (chunk_left_ == 0) end_of_chunk(out);
}

void Session::end_of_chunk(Actions& out) {
    phase_ = chunk_return_;
    if (chunk_refusal_code_ != 0) {
        int code = std::exchange(chunk_refusal_code_, 0);
        return reply(out, code, chunk_refusal_);
    }
    // After a refused chunk the transaction is over: later BDATs get 503 (their chunks read).
    if (!data_.ok()) return refuse_data(out);
    if (!chunk_last_) {
        std::string text = "2.0.0 " + std::to_string(data_.size()) + " octets received";
        return reply(out, 250, text);
    }
    data_.finish_chunks(txn_.body);
    phase_ = Phase::ready;
    if (!data_.ok()) return refuse_data(out);
    store_transaction(out);
}

void Session::refuse_data(Actions& out) {
    reset_transaction();
    if (data_.too_big())
        return reply(out, 552, "5.3.4 Message size exceeds fixed maximum message size");
    if (data_.bare_line_ending())
        return reply(out, 554, "5.6.0 Message refused: bare CR or LF in data (RFC 5321 2.3.8)");
    reply(out, 554, "5.6.0 Message refused: text line longer than 1000 octets");
}

void Session::end_of_data(Actions& out) {
    phase_ = Phase::ready;
    if (!data_.ok()) return refuse_data(out);
    store_transaction(out);
}

std::string Session::protocol_name() const {
    // RFC 3848 (S: under TLS, A: authenticated) and RFC 6531 (UTF8SMTP).
    if (!extended_) return "SMTP";
    std::string name = txn_.smtputf8 ? "UTF8SMTP" : "ESMTP";
    if (tls_) name += 'S';
    if (identity_) name += 'A';
    return name;
}

void Session::store_transaction(Actions& out) {
    // A first line that starts with a blank is a continuation of no field (RFC 5322 §2.2.3).
    // Below the trace fields this server adds it would continue the last of them, its
    // Authentication-Results, with whatever results the sender wrote there.
    if (!txn_.body.empty() && (txn_.body.front() == ' ' || txn_.body.front() == '\t')) {
        reset_transaction();
        return reply(out, 554,
                     "5.6.0 Message refused: the header section starts with a folded line");
    }
    StoreMessage msg;
    msg.reverse_path = std::move(txn_.reverse_path);
    msg.body = std::move(txn_.body);
    msg.smtputf8 = txn_.smtputf8;
    msg.eightbit = txn_.eightbit;
    msg.received.helo = helo_;
    msg.received.client_ip = options_.client_ip;
    msg.received.hostname = options_.hostname;
    msg.received.protocol = protocol_name();
    msg.submitter = identity_;
    if (txn_.recipients.size() == 1) msg.received.for_rcpt = txn_.recipients.front().address;
    msg.recipients = std::move(txn_.recipients);
    reset_transaction();
    pending_ = Pending::store;
    out.emplace_back(std::move(msg));
}

void Session::stored(const StoreOutcome& s, Actions& out) {
    if (s.ok)
        return reply(
            out, 250,
            (options_.submission ? "2.0.0 OK: queued as " : "2.0.0 OK: stored as ") + s.id);
    if (!s.refused.empty()) {
        std::string text = "5.7.1 " + s.refused;
        for (char& c : text)  // one reply line, whatever the shell put in
            if (c == '\r' || c == '\n') c = ' ';
        return reply(out, s.refused_code == 553 ? 553 : 550, text);
    }
    if (s.no_room) return reply(out, 452, "4.3.1 Insufficient system storage, message not stored");
    reply(out, 451, "4.3.0 Local error, message not stored; try again later");
}

void Session::on_result(EffectResult result, Actions& out) {
    // A result nobody asked for is a bug in the shell: a broken invariant aborts (STYLE §4).
    Pending was = std::exchange(pending_, Pending::none);
    if (auto* v = std::get_if<RecipientVerdict>(&result); v && was == Pending::lookup) {
        recipient_verdict(*v, out);
    } else if (auto* s = std::get_if<StoreOutcome>(&result); s && was == Pending::store) {
        stored(*s, out);
    } else if (auto* a = std::get_if<AuthVerdict>(&result); a && was == Pending::auth) {
        auth_verdict(*a, out);
    } else {
        std::abort();
    }
}

}  // namespace postern::smtp
