// The pure decisions of mail authentication: the author domain, the DMARC verdict from the SPF
// and DKIM results, the disposition, the Authentication-Results header field and the JSON.
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "smtpd/auth/verdict.hpp"

using namespace postern;
using namespace postern::smtp::auth;
using dns::DmarcPolicy;
using dns::DmarcResultKind;

namespace {

dns::DmarcEvaluation discovered(std::string_view from, std::string_view record) {
    dns::DmarcEvaluation d(from);
    while (const dns::Question* q = d.next()) {
        dns::Answer a;
        if (q->name == "_dmarc." + std::string(from)) {
            a.status = dns::Status::ok;
            a.txt.emplace_back(record);
        } else {
            a.status = dns::Status::nxdomain;
        }
        d.answer(a);
    }
    return d;
}

dns::SpfResult spf(dns::SpfKind kind, std::string domain) {
    dns::SpfResult r;
    r.kind = kind;
    r.domain = std::move(domain);
    return r;
}

dns::DkimResult signature(dns::DkimStatus status, std::string d, std::string s = "sel") {
    dns::DkimResult r;
    r.status = status;
    r.domain = std::move(d);
    r.selector = std::move(s);
    r.algorithm = "rsa-sha256";
    r.identity = "@" + r.domain;
    r.header_b = "abcdefgh";
    return r;
}

Verdict passing() {
    Verdict v;
    v.checked = true;
    v.mailfrom = "a@b.example";
    v.helo = "mail.b.example";
    v.spf = spf(dns::SpfKind::pass, "b.example");
    v.dkim.push_back(signature(dns::DkimStatus::pass, "b.example"));
    v.from_domain = "b.example";
    v.dmarc.kind = DmarcResultKind::pass;
    v.dmarc.policy = DmarcPolicy::reject;
    v.dmarc.domain = "b.example";
    v.dmarc.spf_aligned = v.dmarc.dkim_aligned = true;
    return v;
}

std::vector<std::string> lines(const std::string& header) {
    std::vector<std::string> out;
    std::size_t pos = 0;
    while (pos < header.size()) {
        std::size_t eol = header.find("\r\n", pos);
        REQUIRE(eol != std::string::npos);  // every line ends with CRLF
        out.push_back(header.substr(pos, eol - pos));
        pos = eol + 2;
    }
    return out;
}

}  // namespace

TEST_CASE("auth verdict: the author domain from the From fields") {
    CHECK(author_domain({}).kind == DmarcResultKind::none);
    CHECK(author_domain({" undisclosed-recipients:;"}).kind == DmarcResultKind::none);
    auto one = author_domain({" Alice <alice@Mail.B.Example>"});
    CHECK(one.kind == DmarcResultKind::pass);
    CHECK(one.domain == "mail.b.example");
    auto same = author_domain({" a@b.example", " c@B.example"});
    CHECK(same.kind == DmarcResultKind::pass);  // two From fields, one domain
    CHECK(same.domain == "b.example");
    auto two = author_domain({" a@b.example", " a@bank.example"});
    CHECK(two.kind == DmarcResultKind::permerror);  // reported, no policy applied
    CHECK(two.domain.empty());
    CHECK_FALSE(two.problem.empty());
    CHECK(author_disposition(two) == Disposition::junk);  // a spoofing shape: stored as junk
    CHECK(author_disposition(one) == Disposition::accept);
    CHECK(author_disposition(author_domain({})) == Disposition::accept);
}

TEST_CASE("auth verdict: DMARC from the SPF and DKIM results") {
    auto policy = discovered("b.example", "v=DMARC1; p=reject");
    std::vector<dns::DkimResult> none;
    SECTION("aligned SPF passes") {
        auto r = evaluate_dmarc(policy, spf(dns::SpfKind::pass, "b.example"), none, 50);
        CHECK(r.kind == DmarcResultKind::pass);
        CHECK(r.spf_aligned);
    }
    SECTION("unaligned SPF and no signature fail under p=reject") {
        auto r = evaluate_dmarc(policy, spf(dns::SpfKind::pass, "other.example"), none, 50);
        CHECK(r.kind == DmarcResultKind::fail);
        CHECK(r.disposition == DmarcPolicy::reject);
    }
    SECTION("a passing aligned signature passes though SPF fails") {
        std::vector<dns::DkimResult> sigs{signature(dns::DkimStatus::fail, "b.example"),
                                          signature(dns::DkimStatus::pass, "mail.b.example")};
        auto r = evaluate_dmarc(policy, spf(dns::SpfKind::fail, "b.example"), sigs, 50);
        CHECK(r.kind == DmarcResultKind::pass);
        CHECK(r.dkim_aligned);
        CHECK_FALSE(r.spf_aligned);
    }
    SECTION("a passing signature of another domain does not count") {
        std::vector<dns::DkimResult> sigs{signature(dns::DkimStatus::pass, "relay.example")};
        auto r = evaluate_dmarc(policy, spf(dns::SpfKind::fail, "b.example"), sigs, 50);
        CHECK(r.kind == DmarcResultKind::fail);
    }
    SECTION("pct: outside the sample the next weaker policy applies") {
        auto half = discovered("b.example", "v=DMARC1; p=reject; pct=50");
        CHECK(evaluate_dmarc(half, spf(dns::SpfKind::fail, "b.example"), none, 49).disposition ==
              DmarcPolicy::reject);
        CHECK(evaluate_dmarc(half, spf(dns::SpfKind::fail, "b.example"), none, 50).disposition ==
              DmarcPolicy::quarantine);
    }
}

TEST_CASE("auth verdict: the disposition of every DMARC outcome") {
    using D = Disposition;
    auto [kind, disposition, action, expected] =
        GENERATE(table<DmarcResultKind, DmarcPolicy, RejectAction, D>({
            {DmarcResultKind::fail, DmarcPolicy::reject, RejectAction::reject, D::reject},
            {DmarcResultKind::fail, DmarcPolicy::reject, RejectAction::quarantine, D::junk},
            {DmarcResultKind::fail, DmarcPolicy::quarantine, RejectAction::reject, D::junk},
            {DmarcResultKind::fail, DmarcPolicy::quarantine, RejectAction::quarantine, D::junk},
            {DmarcResultKind::fail, DmarcPolicy::none, RejectAction::reject, D::accept},
            {DmarcResultKind::pass, DmarcPolicy::none, RejectAction::reject, D::accept},
            {DmarcResultKind::none, DmarcPolicy::none, RejectAction::reject, D::accept},
            // Never refuse on a DNS failure, whatever the record would say.
            {DmarcResultKind::temperror, DmarcPolicy::reject, RejectAction::reject, D::accept},
            {DmarcResultKind::permerror, DmarcPolicy::reject, RejectAction::reject, D::accept},
        }));
    dns::DmarcResult r;
    r.kind = kind;
    r.policy = DmarcPolicy::reject;
    r.disposition = disposition;
    Decision d = decide(r, "b.example", action);
    CHECK(d.disposition == expected);
    CHECK(d.reason.empty() == (expected != D::reject));
    if (expected == D::reject) CHECK(d.reason.find("b.example") != std::string::npos);
}

TEST_CASE("auth verdict: the Authentication-Results header field") {
    SECTION("all pass, folded per result and under 78 octets") {
        CHECK(format_authentication_results("mx.postern.test", passing()) ==
              "Authentication-Results: mx.postern.test;\r\n"
              "\tspf=pass smtp.mailfrom=a@b.example;\r\n"
              "\tdkim=pass header.d=b.example header.s=sel header.a=rsa-sha256\r\n"
              "\theader.b=abcdefgh;\r\n"
              "\tdmarc=pass (p=reject dis=none) header.from=b.example\r\n");
    }
    SECTION("checks off") {
        CHECK(format_authentication_results("mx.postern.test", Verdict{}) ==
              "Authentication-Results: mx.postern.test; none\r\n");
    }
    SECTION("unsigned, null sender, DNS trouble") {
        Verdict v;
        v.checked = true;
        v.helo = "client.test";
        v.spf = spf(dns::SpfKind::temperror, "client.test");
        v.spf.problem = "DNS timeout (TXT client.test)";
        v.dmarc.kind = DmarcResultKind::temperror;
        v.dmarc.problem = "DNS timeout";
        v.from_domain = "b.example";
        CHECK(format_authentication_results("mx.test", v) ==
              "Authentication-Results: mx.test;\r\n"
              "\tspf=temperror (DNS timeout \\(TXT client.test\\)) smtp.helo=client.test;\r\n"
              "\tdkim=none;\r\n"
              "\tdmarc=temperror (DNS timeout) header.from=b.example\r\n");
    }
    SECTION("one dkim= per signature; quarantined failure") {
        Verdict v = passing();
        v.dkim.push_back(signature(dns::DkimStatus::fail, "relay.example", "s2"));
        v.dkim.back().reason = "signature did not verify";
        v.dmarc.kind = DmarcResultKind::fail;
        v.dmarc.disposition = DmarcPolicy::reject;
        v.disposition = Disposition::junk;  // dmarc_reject_action = quarantine
        std::string h = format_authentication_results("mx.test", v);
        std::size_t dkims = 0;
        for (std::size_t p = h.find("dkim="); p != std::string::npos; p = h.find("dkim=", p + 1))
            ++dkims;
        CHECK(dkims == 2);
        CHECK(h.find("\tdkim=fail (signature did not verify) header.d=relay.example "
                     "header.s=s2\r\n") != std::string::npos);
        CHECK(h.find("dmarc=fail (p=reject dis=quarantine)") != std::string::npos);
    }
    SECTION("values from the message cannot add results of their own") {
        Verdict v = passing();
        v.dkim[0].domain = "evil.example; dmarc=pass";
        v.dkim[0].selector = "a\r\nX-Injected: yes";
        v.dkim[0].header_b = "ab/c+d=e";
        v.dkim[0].reason = "bad (nested) \\ \x01 comment";
        v.mailfrom = "prvs=123=a@b.example";
        std::string h = format_authentication_results("mx.test", v);
        CHECK(h.find("header.d=\"evil.example; dmarc=pass\"") != std::string::npos);
        CHECK(h.find("header.s=\"aX-Injected: yes\"") != std::string::npos);
        CHECK(h.find("header.b=\"ab/c+d=e\"") != std::string::npos);
        CHECK(h.find("(bad \\(nested\\) \\\\ ? comment)") != std::string::npos);
        CHECK(h.find("smtp.mailfrom=prvs=123=a@b.example;") != std::string::npos);
        for (const auto& line : lines(h)) CHECK(line.find('\r') == std::string::npos);
    }
    SECTION("long values fold, and no line exceeds 998 octets") {
        Verdict v = passing();
        v.dkim[0].domain = std::string(60, 'd') + ".example";
        v.dkim[0].header_b = std::string(600, 'B');
        v.mailfrom = std::string(64, 'l') + "@" + std::string(180, 'm') + ".example";
        std::string h = format_authentication_results("mx.test", v);
        auto all = lines(h);
        CHECK(all.size() >= 6);
        for (const auto& line : all) {
            CHECK(line.size() <= 998);
            if (line.find(std::string(100, 'B')) == std::string::npos &&
                line.find(std::string(100, 'm')) == std::string::npos)
                CHECK(line.size() <= 78);
        }
        for (std::size_t i = 1; i < all.size(); ++i) CHECK(all[i].front() == '\t');
    }
}

TEST_CASE("auth verdict: the stored JSON") {
    CHECK(auth_json(Verdict{}).empty());
    Verdict v = passing();
    v.dmarc.kind = DmarcResultKind::fail;
    v.dmarc.disposition = DmarcPolicy::quarantine;
    v.disposition = Disposition::junk;
    auto j = boost::json::parse(auth_json(v)).as_object();
    CHECK(j.at("action") == "junk");
    CHECK(j.at("spf").at("result") == "pass");
    CHECK(j.at("spf").at("domain") == "b.example");
    CHECK(j.at("spf").at("identity") == "mailfrom");
    CHECK(j.at("spf").at("mailfrom") == "a@b.example");
    CHECK(j.at("spf").at("problem").is_null());
    auto& dkim = j.at("dkim").as_array();
    REQUIRE(dkim.size() == 1);
    CHECK(dkim[0].at("result") == "pass");
    CHECK(dkim[0].at("domain") == "b.example");
    CHECK(dkim[0].at("selector") == "sel");
    CHECK(dkim[0].at("algorithm") == "rsa-sha256");
    CHECK(dkim[0].at("header_b") == "abcdefgh");
    CHECK(j.at("dmarc").at("result") == "fail");
    CHECK(j.at("dmarc").at("policy") == "reject");
    CHECK(j.at("dmarc").at("disposition") == "quarantine");
    CHECK(j.at("dmarc").at("from_domain") == "b.example");
    CHECK(j.at("dmarc").at("policy_domain") == "b.example");
    CHECK(j.at("dmarc").at("spf_aligned") == true);
    Verdict unsigned_mail = passing();
    unsigned_mail.dkim.clear();
    unsigned_mail.dmarc.kind = DmarcResultKind::none;
    auto u = boost::json::parse(auth_json(unsigned_mail)).as_object();
    CHECK(u.at("dkim").as_array().empty());
    CHECK(u.at("dmarc").at("policy").is_null());
}
