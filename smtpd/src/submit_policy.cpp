#include "smtpd/submit_policy.hpp"

#include "common/ascii.hpp"
#include "common/scopes.hpp"
#include "smtpd/proto/command.hpp"

namespace postern::smtp {

bool token_may_submit(const storage::Token& token, const storage::Mailbox& mailbox,
                      std::int64_t now_ms) {
    if (token.kind != "mailbox") return false;
    if (token.revoked_at) return false;
    if (token.expires_at && *token.expires_at <= now_ms) return false;
    if (!token.mailbox_id || *token.mailbox_id != mailbox.id) return false;
    if (token.tenant_id != mailbox.tenant_id) return false;
    return scope_allows(token.scopes, "email:send");
}

std::string send_refusal(const storage::Domain& domain) {
    if (domain.can_send()) return {};
    std::string missing;
    auto add = [&](const char* what) {
        if (!missing.empty()) missing += ", ";
        missing += what;
    };
    if (!domain.ownership_verified_at) add("ownership");
    if (!domain.spf_verified_at) add("SPF");
    if (!domain.dkim_verified_at) add("DKIM");
    return "Domain " + domain.name + " is not verified for sending (" + missing +
           " not verified); run `postern domain check " + domain.name + "`";
}

bool has_header(std::string_view message, std::string_view name) {
    std::size_t pos = 0;
    while (pos < message.size()) {
        std::size_t eol = message.find('\n', pos);
        std::string_view line =
            message.substr(pos, eol == std::string_view::npos ? eol : eol - pos);
        if (line.empty() || line == "\r") return false;  // the end of the header section
        if (line.size() > name.size() && line[name.size()] == ':' &&
            iequals_ascii(line.substr(0, name.size()), name))
            return true;
        if (eol == std::string_view::npos) break;
        pos = eol + 1;
    }
    return false;
}

}  // namespace postern::smtp
