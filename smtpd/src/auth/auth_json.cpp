// The stored form of a verdict (messages.auth_json).
#include <boost/json.hpp>

#include "smtpd/auth/verdict.hpp"

namespace postern::smtp::auth {
namespace {

namespace json = boost::json;

json::value text_or_null(std::string_view s) {
    if (s.empty()) return nullptr;
    return json::string(s);
}

}  // namespace

std::string auth_json(const Verdict& v) {
    if (!v.checked) return {};
    json::object spf{
        {"result", dns::to_string(v.spf.kind)},
        {"domain", text_or_null(v.spf.domain)},
        {"identity", v.mailfrom.empty() ? "helo" : "mailfrom"},
        {"mailfrom", v.mailfrom},
        {"helo", v.helo},
        {"mechanism", text_or_null(v.spf.mechanism)},
        {"problem", text_or_null(v.spf.problem)},
    };
    json::array dkim;
    for (const auto& d : v.dkim)
        dkim.push_back(json::object{
            {"result", dns::to_string(d.status)},
            {"domain", d.domain},
            {"selector", d.selector},
            {"algorithm", d.algorithm},
            {"identity", d.identity},
            {"header_b", d.header_b},
            {"testing", d.testing},
            {"reason", text_or_null(d.reason)},
        });
    const dns::DmarcResult& m = v.dmarc;
    const bool found = m.kind == dns::DmarcResultKind::pass || m.kind == dns::DmarcResultKind::fail;
    json::object dmarc{
        {"result", dns::to_string(m.kind)},
        {"policy", found ? json::value(json::string(dns::to_string(m.policy))) : nullptr},
        {"disposition", dns::to_string(m.disposition)},
        {"from_domain", text_or_null(v.from_domain)},
        {"policy_domain", text_or_null(m.domain)},
        {"spf_aligned", m.spf_aligned},
        {"dkim_aligned", m.dkim_aligned},
        {"problem", text_or_null(m.problem)},
    };
    json::object all{
        {"spf", std::move(spf)},
        {"dkim", std::move(dkim)},
        {"dmarc", std::move(dmarc)},
        {"action", to_string(v.disposition)},
    };
    return json::serialize(all);
}

}  // namespace postern::smtp::auth
