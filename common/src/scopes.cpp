#include "common/scopes.hpp"

#include <algorithm>

namespace postern {

const std::vector<std::string_view>& known_scopes() {
    static const std::vector<std::string_view> kScopes = {
        "read",         "write",        "full",          "admin",
        "email:read",   "email:send",   "email:write",   "contacts:read",
        "contacts:write", "labels:read", "labels:write", "alerts:read",
        "alerts:write", "files:read",   "files:write",   "calendar:read",
        "calendar:write", "context:read", "workflows:read", "workflows:write",
        "billing:read", "llm:read",
        "status:evaluate",  // Connex API keys (seeds/001, 003): every keyed /api/connex route
    };
    return kScopes;
}

bool is_known_scope(std::string_view scope) {
    const auto& all = known_scopes();
    return std::find(all.begin(), all.end(), scope) != all.end();
}

bool is_connex_scope(std::string_view scope) { return scope == "status:evaluate"; }

bool scope_allows(const std::vector<std::string>& granted, std::string_view required) {
    auto has = [&](std::string_view s) {
        return std::find(granted.begin(), granted.end(), s) != granted.end();
    };
    if (has(required)) return true;
    if (required == "admin") return false;  // only an explicit admin grant manages the tenant
    if (is_connex_scope(required)) return false;  // the mailbox bundles never grant Connex
    if (has("write") || has("full")) return true;
    constexpr std::string_view kRead = ":read";
    if (required.size() > kRead.size() && required.ends_with(kRead) && has("read")) return true;
    return false;
}

std::string join_scopes(const std::vector<std::string>& scopes) {
    std::string out;
    for (const auto& s : scopes) {
        if (!out.empty()) out += ' ';
        out += s;
    }
    return out;
}

std::vector<std::string> split_scopes(std::string_view text) {
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < text.size()) {
        while (i < text.size() && (text[i] == ' ' || text[i] == ',')) ++i;
        std::size_t j = i;
        while (j < text.size() && text[j] != ' ' && text[j] != ',') ++j;
        if (j > i) out.emplace_back(text.substr(i, j - i));
        i = j;
    }
    return out;
}

}  // namespace postern
