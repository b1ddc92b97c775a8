#pragma once
// Repositories: the only place SQL lives. Each function takes the Database it runs on, so the same
// code serves the writer thread (inside its transaction) and per-thread read connections.
// Tenant isolation: every read that a token can reach takes the tenant id (and the mailbox when
// the token is bound to one) and filters on it in SQL.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/mime.hpp"
#include "common/result.hpp"
#include "storage/database.hpp"
#include "storage/models.hpp"

namespace postern::storage {

// ---- tenants ----
[[nodiscard]] Result<Tenant> create_tenant(Database& db, std::string_view name);
// The first tenant created (the single-tenant default), if any.
[[nodiscard]] Result<std::optional<Tenant>> default_tenant(Database& db);

// ---- domains ----
[[nodiscard]] Result<Domain> create_domain(Database& db, std::string_view tenant_id,
                                           std::string_view name);  // Errc::conflict if taken
[[nodiscard]] Result<std::vector<Domain>> list_domains(Database& db, std::string_view tenant_id);
[[nodiscard]] Result<std::optional<Domain>> find_domain(Database& db, std::string_view name);
// `id_or_name` is a dom_ id or a domain name; only the tenant's domains are found.
[[nodiscard]] Result<std::optional<Domain>> find_tenant_domain(Database& db,
                                                               std::string_view tenant_id,
                                                               std::string_view id_or_name);
[[nodiscard]] Result<void> set_domain_auth(Database& db, std::string_view domain_id,
                                           std::string_view dkim_selector,
                                           std::string_view ownership_token);
[[nodiscard]] Result<DkimKeyRow> add_dkim_key(Database& db, const Domain& domain,
                                              std::string_view selector, std::string_view algorithm,
                                              std::string_view private_pem,
                                              std::string_view public_b64);
[[nodiscard]] Result<std::vector<DkimKeyRow>> list_dkim_keys(Database& db,
                                                             std::string_view domain_id);

// A new hosted domain as `postern domain add` and POST /v1/domains make it, in the caller's
// transaction: the domain, its selector and ownership token, its DKIM keys, the audit entry
// (by `actor`) and the `domain.created` event. Errc::conflict when the name is taken.
struct NewDkimKey {
    std::string selector, algorithm, private_pem, public_b64;
};
[[nodiscard]] Result<Domain> create_hosted_domain(Database& db, std::string_view tenant_id,
                                                  std::string_view name,
                                                  std::string_view dkim_selector,
                                                  std::string_view ownership_token,
                                                  const std::vector<NewDkimKey>& keys,
                                                  std::string_view actor, std::int64_t now);
struct DomainVerification {
    bool ownership = false, spf = false, dkim = false;
    std::string results_json;  // the per-record results of the check
};
// Records a check of `domain` by `actor`: each flag sets its verified_at (kept if already set and
// still ok; cleared when the record no longer checks out), with the audit entry and the
// `domain.checked` event, in the caller's transaction.
[[nodiscard]] Result<void> record_domain_check(Database& db, const Domain& domain,
                                               const DomainVerification& v, std::string_view actor,
                                               std::int64_t now);

// ---- mailboxes ----
// The domain of `address` must be hosted by the tenant (Errc::not_found otherwise).
[[nodiscard]] Result<Mailbox> create_mailbox(Database& db, std::string_view tenant_id,
                                             std::string_view address);
[[nodiscard]] Result<std::vector<Mailbox>> list_mailboxes(Database& db, std::string_view tenant_id);
// Lookup by Address::key() across all tenants (used by the MX for RCPT TO).
[[nodiscard]] Result<std::optional<Mailbox>> find_mailbox_by_key(Database& db,
                                                                 std::string_view address_key);
// The domain's oldest mailbox (the first one added), or none: where postmaster@ a domain goes
// when the domain has no mailbox of that name and [smtp] postmaster is not set.
[[nodiscard]] Result<std::optional<Mailbox>> first_mailbox_of_domain(Database& db,
                                                                     std::string_view domain_id);
// `id_or_address` is an mbx_ id or an address; only the tenant's mailboxes are found.
[[nodiscard]] Result<std::optional<Mailbox>> find_mailbox(Database& db, std::string_view tenant_id,
                                                          std::string_view id_or_address);

// ---- tokens ----
struct NewToken {
    Token token;
    std::string secret;  // shown once; only its SHA-256 is stored
};
// `kind` "mailbox" (secret "pst_…"; Postern API scopes) or "connex" (a Connex API key,
// "cxk_live_…": tenant-wide, Connex scopes only). 256 random bits either way.
[[nodiscard]] Result<NewToken> create_token(Database& db, std::string_view tenant_id,
                                            const std::optional<std::string>& mailbox_id,
                                            const std::vector<std::string>& scopes,
                                            const std::optional<std::string>& label,
                                            std::optional<std::int64_t> expires_at = std::nullopt,
                                            std::string_view kind = "mailbox");
[[nodiscard]] Result<std::vector<Token>> list_tokens(Database& db, std::string_view tenant_id);
// Errc::not_found when no such token in the tenant. True when this call revoked it; false when
// it was revoked already (its revoked_at is kept).
[[nodiscard]] Result<bool> revoke_token(Database& db, std::string_view tenant_id,
                                        std::string_view token_id);
// Looks a presented secret up by its hash. Returns the token whatever its state; the caller
// checks revoked_at and expires_at.
[[nodiscard]] Result<std::optional<Token>> find_token_by_secret(Database& db,
                                                                std::string_view secret);

// ---- audit ----
[[nodiscard]] Result<void> append_audit(Database& db, std::string_view tenant_id,
                                        std::string_view actor, std::string_view action,
                                        std::string_view target,
                                        std::string_view detail_json = "{}");

// The audit row and the event of a token's creation ("token.create", "token.created") and
// revocation ("token.revoke", "token.revoked"), in the caller's transaction (API.md: every state
// change writes both). Neither carries the secret.
[[nodiscard]] Result<void> log_token_created(Database& db, const Token& token,
                                             std::string_view actor);
[[nodiscard]] Result<void> log_token_revoked(Database& db, std::string_view tenant_id,
                                             std::string_view token_id, std::string_view actor);

// ---- inbound mail ----
struct Recipient {
    std::string mailbox_id;
    std::string tenant_id;
    std::string address;  // RCPT TO as given
};

struct InboundMessage {
    std::string raw;  // the bytes to store, our Received: header first
    std::string envelope_from;
    std::vector<Recipient> recipients;  // one stored copy each
    mime::Summary summary;
    std::int64_t received_at = 0;
    std::vector<std::string> flags;  // e.g. "junk" (DMARC quarantine); stored as a JSON array
    std::string auth_json;           // mail authentication results; "" = not checked (NULL)
};

// Stores the raw bytes once, then one message row per recipient, each joined to a thread
// (References/In-Reply-To first, else normalised subject with the same participants), plus a
// `message.received` event per copy. Call inside a transaction (the writer's job does).
// Returns the new message ids, in recipient order.
[[nodiscard]] Result<std::vector<std::string>> store_inbound(Database& db,
                                                             const InboundMessage& message);

// ---- reading mail ----
// The visibility a token gives: a tenant, and optionally one mailbox within it.
struct Scope {
    std::string tenant_id;
    std::optional<std::string> mailbox_id;
};

struct Page {
    std::size_t limit = 50;
    std::optional<std::string> cursor;  // opaque; from a previous page's next_cursor
};

// Page cursors, opaque to clients: base64url of "<kind>:<list>:<last id shown>". A cursor names
// its list (a mailbox, a thread filter, a tenant), so that one passed to another list is
// refused rather than read as a position there (docs/api.md: that is a 400).
std::string make_cursor(char kind, std::string_view list, std::string_view id);
// The last id a cursor names, nothing for no cursor, or Errc::invalid_argument when it was not
// issued for this kind and list or its id lacks `id_prefix`.
[[nodiscard]] Result<std::optional<std::string>> read_cursor(
    char kind, std::string_view list, const std::optional<std::string>& cursor,
    std::string_view id_prefix);

template <class T>
struct PageOf {
    std::vector<T> items;
    std::optional<std::string> next_cursor;
};

[[nodiscard]] Result<PageOf<MessageRow>> list_messages(Database& db, const Scope& scope,
                                                       std::string_view mailbox_id,
                                                       const std::optional<std::string>& thread_id,
                                                       const Page& page);
[[nodiscard]] Result<std::optional<MessageRow>> get_message(Database& db, const Scope& scope,
                                                            std::string_view message_id);
// Raw bytes of a stored blob.
[[nodiscard]] Result<std::string> load_blob(Database& db, std::string_view sha256);

[[nodiscard]] Result<PageOf<ThreadRow>> list_threads(Database& db, const Scope& scope,
                                                     std::string_view mailbox_id, const Page& page);
[[nodiscard]] Result<std::optional<ThreadRow>> get_thread(Database& db, const Scope& scope,
                                                          std::string_view thread_id);

}  // namespace postern::storage
