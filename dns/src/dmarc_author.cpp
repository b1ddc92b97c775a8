// The RFC5322.From domain for DMARC (RFC 7489 §6.6.1), read leniently from the header value.
#include <string>
#include <vector>

#include "common/address.hpp"
#include "dns/dmarc.hpp"

namespace postern::dns {
namespace {

// The header value with comments and quoted strings blanked out (their contents never name
// the author's domain), split into mailboxes at the commas left outside angle brackets.
std::vector<std::string> mailboxes(std::string_view value) {
    std::vector<std::string> out(1);
    int comment = 0, angle = 0;
    bool quoted = false, escaped = false;
    for (char c : value) {
        if (escaped) {
            escaped = false;
            out.back().push_back(' ');
            continue;
        }
        if ((quoted || comment > 0) && c == '\\') {
            escaped = true;
            out.back().push_back(' ');
            continue;
        }
        if (quoted) {
            if (c == '"') quoted = false;
            out.back().push_back(' ');
            continue;
        }
        if (c == '(') ++comment;
        if (comment > 0) {
            if (c == ')') --comment;
            out.back().push_back(' ');
            continue;
        }
        if (c == '"') {
            quoted = true;
            out.back().push_back(' ');
            continue;
        }
        if (c == '<') ++angle;
        if (c == '>' && angle > 0) --angle;
        if (c == ',' && angle == 0) {
            out.emplace_back();
            continue;
        }
        out.back().push_back(c);
    }
    return out;
}

// The domain of one mailbox: after the last '@' inside angle brackets if there are any,
// else after the last '@'; "" when there is none.
std::string_view mailbox_domain(std::string_view box) {
    std::size_t at = std::string_view::npos;
    if (const std::size_t close = box.rfind('>'); close != std::string_view::npos) {
        const std::size_t open = box.rfind('<', close);
        if (open != std::string_view::npos) at = box.substr(0, close).rfind('@');
        if (at != std::string_view::npos && at < open) at = std::string_view::npos;
    }
    if (at == std::string_view::npos) at = box.rfind('@');
    if (at == std::string_view::npos) return {};
    std::size_t end = at + 1;
    while (end < box.size() && box[end] != ' ' && box[end] != '\t' && box[end] != '>' &&
           box[end] != '<' && box[end] != ';' && box[end] != '\r' && box[end] != '\n')
        ++end;
    return box.substr(at + 1, end - at - 1);
}

}  // namespace

Result<std::string> author_domain(std::string_view from_value) {
    std::string domain;
    for (const std::string& box : mailboxes(from_value)) {
        const std::string_view d = mailbox_domain(box);
        if (d.empty()) {
            if (box.find('@') != std::string::npos)
                return fail(Errc::invalid_argument, "From address without a domain");
            continue;  // an empty mailbox, or a group's display name
        }
        auto normalized = normalize_domain(d);
        if (!normalized || normalized->empty() || normalized->front() == '[')
            return fail(Errc::invalid_argument, "invalid From domain: " + std::string(d));
        if (!domain.empty() && *normalized != domain)
            return fail(Errc::invalid_argument, "From has addresses in several domains");
        domain = std::move(*normalized);
    }
    if (domain.empty()) return fail(Errc::not_found, "no author address in From");
    return domain;
}

}  // namespace postern::dns
