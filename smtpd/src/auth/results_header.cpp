// The Authentication-Results header field (RFC 8601).
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "smtpd/auth/verdict.hpp"

namespace postern::smtp::auth {
namespace {

constexpr std::size_t kFoldAt = 78;           // RFC 5322 §2.1.1: SHOULD NOT exceed 78
constexpr std::size_t kMaxCommentText = 100;  // ours to choose: a comment is for people

bool is_tspecial(char c) {
    return std::string_view("()<>@,;:\\\"/[]?=").find(c) != std::string_view::npos;
}

// RFC 2045 token characters, plus UTF-8 octets (RFC 8616).
bool is_token_char(char c) {
    auto u = static_cast<unsigned char>(c);
    return u >= 0x80 || (u > 0x20 && u < 0x7f && !is_tspecial(c));
}

bool is_atext(char c) {
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x80) return true;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    return std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos;
}

bool is_domain_name(std::string_view s) {
    if (s.empty() || s.front() == '.' || s.back() == '.') return false;
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        bool ok = u >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
        if (!ok) return false;
    }
    return s.find("..") == std::string_view::npos;
}

bool is_dot_atom(std::string_view s) {
    if (s.empty() || s.front() == '.' || s.back() == '.') return false;
    for (char c : s)
        if (c != '.' && !is_atext(c)) return false;
    return s.find("..") == std::string_view::npos;
}

// An RFC 8601 pvalue: a token, local-part@domain, or else a quoted-string.
std::string pvalue(std::string_view s) {
    bool token = !s.empty();
    for (char c : s) token = token && is_token_char(c);
    if (token) return std::string(s);
    if (std::size_t at = s.rfind('@'); at != std::string_view::npos) {
        std::string_view local = s.substr(0, at), domain = s.substr(at + 1);
        if ((local.empty() || is_dot_atom(local)) && is_domain_name(domain)) return std::string(s);
    }
    std::string q = "\"";
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) continue;  // no line ends or controls inside
        if (c == '"' || c == '\\') q += '\\';
        q += c;
    }
    q += '"';
    return q;
}

// "(text)", printable ASCII only, parentheses and backslashes escaped, bounded.
std::string comment(std::string_view text) {
    std::string c = "(";
    std::size_t n = 0;
    for (char ch : text) {
        if (n++ == kMaxCommentText) {
            c += "...";
            break;
        }
        auto u = static_cast<unsigned char>(ch);
        if (u < 0x20 || u >= 0x7f) ch = u == '\t' ? ' ' : '?';
        if (ch == '(' || ch == ')' || ch == '\\') c += '\\';
        c += ch;
    }
    c += ')';
    return c;
}

// One resinfo (RFC 8601 §2.2): "method=result", then comments and properties.
using Resinfo = std::vector<std::string>;

Resinfo spf_info(const Verdict& v) {
    Resinfo r{"spf=" + std::string(dns::to_string(v.spf.kind))};
    if (!v.spf.problem.empty()) r.push_back(comment(v.spf.problem));
    if (!v.mailfrom.empty()) {
        r.push_back("smtp.mailfrom=" + pvalue(v.mailfrom));
    } else if (!v.helo.empty()) {
        r.push_back("smtp.helo=" + pvalue(v.helo));  // the null sender: the HELO was checked
    }
    return r;
}

Resinfo dkim_info(const dns::DkimResult& d) {
    Resinfo r{"dkim=" + std::string(dns::to_string(d.status))};
    if (!d.reason.empty()) r.push_back(comment(d.reason));
    if (d.testing) r.push_back("(key in test mode)");
    if (!d.domain.empty()) r.push_back("header.d=" + pvalue(d.domain));
    if (!d.selector.empty()) r.push_back("header.s=" + pvalue(d.selector));
    if (!d.algorithm.empty()) r.push_back("header.a=" + pvalue(d.algorithm));
    if (!d.header_b.empty()) r.push_back("header.b=" + pvalue(d.header_b));
    return r;
}

std::string_view applied(const Verdict& v) {
    if (v.dmarc.kind != dns::DmarcResultKind::fail) return "none";
    switch (v.disposition) {
        case Disposition::accept:
            return "none";
        case Disposition::junk:
            return "quarantine";
        case Disposition::reject:
            return "reject";
    }
    return "none";
}

Resinfo dmarc_info(const Verdict& v) {
    const dns::DmarcResult& d = v.dmarc;
    Resinfo r{"dmarc=" + std::string(dns::to_string(d.kind))};
    if (d.kind == dns::DmarcResultKind::pass || d.kind == dns::DmarcResultKind::fail) {
        r.push_back("(p=" + std::string(dns::to_string(d.policy)) +
                    " dis=" + std::string(applied(v)) + ")");
    } else if (!d.problem.empty()) {
        r.push_back(comment(d.problem));
    }
    if (!v.from_domain.empty()) r.push_back("header.from=" + pvalue(v.from_domain));
    return r;
}

}  // namespace

std::string format_authentication_results(std::string_view authserv_id, const Verdict& v) {
    std::string h = "Authentication-Results: " + pvalue(authserv_id) + ";";
    if (!v.checked) return h + " none\r\n";
    std::vector<Resinfo> infos;
    infos.push_back(spf_info(v));
    if (v.dkim.empty()) {
        infos.push_back(Resinfo{"dkim=none"});
    } else {
        for (const auto& d : v.dkim) infos.push_back(dkim_info(d));
    }
    infos.push_back(dmarc_info(v));
    // Each resinfo starts a line; its parts follow on that line while it stays within kFoldAt
    // octets, else on a folded line of their own.
    for (std::size_t i = 0; i < infos.size(); ++i) {
        if (i + 1 < infos.size()) infos[i].back() += ';';
        h += "\r\n\t";
        std::size_t line = 1;
        for (std::size_t j = 0; j < infos[i].size(); ++j) {
            const std::string& part = infos[i][j];
            if (j > 0 && line + 1 + part.size() <= kFoldAt) {
                h += ' ';
                line += 1;
            } else if (j > 0) {
                h += "\r\n\t";
                line = 1;
            }
            h += part;
            line += part.size();
        }
    }
    h += "\r\n";
    return h;
}

}  // namespace postern::smtp::auth
