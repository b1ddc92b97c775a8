// The security commands of the state machine: STARTTLS (RFC 3207) and AUTH PLAIN / LOGIN
// (RFC 4954, RFC 4616). The rest of Session is in session.cpp.
#include <cstdlib>
#include <utility>

#include "common/address.hpp"
#include "common/ascii.hpp"
#include "common/crypto.hpp"
#include "smtpd/proto/session.hpp"

namespace postern::smtp {
namespace {

// The LOGIN mechanism's challenges ("Username:", "Password:" in base64).
constexpr std::string_view kLoginUser = "VXNlcm5hbWU6";
constexpr std::string_view kLoginPassword = "UGFzc3dvcmQ6";

// A SASL initial response or continuation: "=" is the empty response (RFC 4954 §4).
bool decode_response(std::string_view in, std::string& out) {
    if (in == "=") {
        out.clear();
        return true;
    }
    return base64_decode(in, out);
}

}  // namespace

void Session::cmd_starttls(std::string_view arg, Actions& out) {
    if (!options_.tls_offered || tls_) {
        if (tls_) return reply(out, 503, "5.5.1 TLS already active");
        return reply(out, 502, "5.5.1 Command not implemented");
    }
    if (!arg.empty()) return reply(out, 501, "5.5.4 Syntax: STARTTLS");
    if (phase_ == Phase::need_helo || !extended_) return reply(out, 503, "5.5.1 Send EHLO first");
    if (more_input_) {
        // Commands sent with STARTTLS, before the handshake, would be taken as if they came
        // under TLS (STARTTLS command injection, CVE-2011-0411): refuse, and end the session
        // rather than guess where the plaintext ends.
        reply(out, 554, "5.5.1 Commands pipelined after STARTTLS; closing connection");
        if (!closed_) {
            out.emplace_back(Close{});
            closed_ = true;
        }
        return;
    }
    reply(out, 220, "2.0.0 Ready to start TLS");
    out.emplace_back(StartTls{});
    pending_ = Pending::tls;
}

void Session::on_tls_started(Actions& out) {
    (void)out;                                   // the client speaks first after the handshake
    if (pending_ != Pending::tls) std::abort();  // a broken shell (STYLE §4)
    pending_ = Pending::none;
    tls_ = true;
    // RFC 3207 §4.2: discard any knowledge obtained from the client before the handshake.
    phase_ = Phase::need_helo;
    extended_ = false;
    helo_.clear();
    txn_ = Transaction{};
    identity_.reset();
    send_refused_.clear();
    sasl_user_.clear();
}

void Session::cmd_auth(std::string_view arg, Actions& out) {
    if (!options_.submission) return reply(out, 502, "5.5.1 Command not implemented");
    if (phase_ == Phase::need_helo || !extended_) return reply(out, 503, "5.5.1 Send EHLO first");
    if (!tls_)
        return reply(out, 538,
                     "5.7.11 Encryption required for requested authentication mechanism: use "
                     "STARTTLS first");
    if (identity_) return reply(out, 503, "5.5.1 Already authenticated");
    if (phase_ != Phase::ready)
        return reply(out, 503, "5.5.1 AUTH not allowed during a transaction");
    std::size_t sp = arg.find(' ');
    std::string_view mechanism = arg.substr(0, sp);
    std::string_view initial =
        sp == std::string_view::npos ? std::string_view() : arg.substr(sp + 1);
    bool has_initial = sp != std::string_view::npos;
    if (has_initial && initial.find(' ') != std::string_view::npos)
        return reply(out, 501, "5.5.4 Syntax: AUTH mechanism [initial-response]");
    std::string decoded;
    if (has_initial && !decode_response(initial, decoded))
        return reply(out, 501, "5.5.2 Cannot decode the initial response (base64)");
    if (iequals_ascii(mechanism, "PLAIN")) {
        if (has_initial) return sasl_plain(decoded, out);
        sasl_ = Sasl::plain;
        phase_ = Phase::auth;
        return reply(out, 334, "");
    }
    if (iequals_ascii(mechanism, "LOGIN")) {
        phase_ = Phase::auth;
        if (has_initial) {
            sasl_user_ = std::move(decoded);
            sasl_ = Sasl::login_password;
            return reply(out, 334, kLoginPassword);
        }
        sasl_ = Sasl::login_user;
        return reply(out, 334, kLoginUser);
    }
    if (mechanism.empty())
        return reply(out, 501, "5.5.4 Syntax: AUTH mechanism [initial-response]");
    reply(out, 504, "5.5.4 Unrecognized authentication mechanism; PLAIN and LOGIN are offered");
}

void Session::sasl_response(std::string_view line, Actions& out) {
    phase_ = Phase::ready;
    if (line == "*") {
        sasl_user_.clear();
        return reply(out, 501, "5.0.0 Authentication cancelled");
    }
    std::string decoded;
    if (!decode_response(line, decoded)) {
        sasl_user_.clear();
        return reply(out, 501, "5.5.2 Cannot decode the response (base64)");
    }
    switch (sasl_) {
        case Sasl::plain:
            return sasl_plain(decoded, out);
        case Sasl::login_user:
            sasl_user_ = std::move(decoded);
            sasl_ = Sasl::login_password;
            phase_ = Phase::auth;
            return reply(out, 334, kLoginPassword);
        case Sasl::login_password: {
            Authenticate a{"LOGIN", std::exchange(sasl_user_, {}), std::move(decoded)};
            if (a.username.empty() || a.password.empty()) return auth_failed(out);
            pending_ = Pending::auth;
            out.emplace_back(std::move(a));
            return;
        }
    }
}

// RFC 4616: [authzid] NUL authcid NUL passwd. An authzid other than the authcid would be
// acting for someone else: refused.
void Session::sasl_plain(std::string_view decoded, Actions& out) {
    std::size_t a = decoded.find('\0');
    std::size_t b = a == std::string_view::npos ? a : decoded.find('\0', a + 1);
    if (b == std::string_view::npos || decoded.find('\0', b + 1) != std::string_view::npos)
        return auth_failed(out);
    std::string_view authzid = decoded.substr(0, a);
    std::string_view authcid = decoded.substr(a + 1, b - a - 1);
    std::string_view password = decoded.substr(b + 1);
    if (authcid.empty() || password.empty() || (!authzid.empty() && authzid != authcid))
        return auth_failed(out);
    pending_ = Pending::auth;
    out.emplace_back(Authenticate{"PLAIN", std::string(authcid), std::string(password)});
}

void Session::auth_failed(Actions& out) {
    ++auth_failures_;
    reply(out, 535, "5.7.8 Authentication credentials invalid");
    if (closed_ || options_.max_auth_failures == 0 || auth_failures_ < options_.max_auth_failures)
        return;
    reply(out, 421, "4.7.0 " + options_.hostname + " Too many authentication failures, closing");
    out.emplace_back(Close{});
    closed_ = true;
}

void Session::auth_verdict(const AuthVerdict& v, Actions& out) {
    switch (v.kind) {
        case AuthVerdict::Kind::ok:
            identity_ = v.identity;
            send_refused_ = v.send_refused;
            return reply(out, 235, "2.7.0 Authentication successful");
        case AuthVerdict::Kind::invalid:
            return auth_failed(out);
        case AuthVerdict::Kind::temp_failure:
            return reply(out, 454, "4.7.0 Temporary authentication failure, try again later");
    }
}

}  // namespace postern::smtp
