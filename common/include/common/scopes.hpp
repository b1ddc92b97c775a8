#pragma once
// Token scopes, after the agent mailbox guide (seeds/002): atomic scopes such as `email:read`,
// the bundle `read` (every `*:read`), the bundles `write` and `full` (every mailbox operation),
// and `admin` (tenant-wide management: domains, mailboxes, tokens). Pure; thread-safe.
#include <string>
#include <string_view>
#include <vector>

namespace postern {

// Every scope name a token may be created with.
const std::vector<std::string_view>& known_scopes();
bool is_known_scope(std::string_view scope);
// Scopes of Connex API keys (`status:evaluate`); no other token kind may carry them.
bool is_connex_scope(std::string_view scope);

// True when a token holding `granted` may perform an operation that needs `required`.
bool scope_allows(const std::vector<std::string>& granted, std::string_view required);

// Space-separated storage form.
std::string join_scopes(const std::vector<std::string>& scopes);
std::vector<std::string> split_scopes(std::string_view text);

}  // namespace postern
