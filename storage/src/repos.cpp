// Tenants, domains, mailboxes, tokens and audit rows. Mail lives in mail_repo.cpp.
#include "storage/repos.hpp"

#include <boost/json.hpp>

#include "common/address.hpp"
#include "common/ascii.hpp"
#include "common/crypto.hpp"
#include "common/ids.hpp"
#include "common/scopes.hpp"
#include "common/time.hpp"
#include "storage/events.hpp"

namespace postern::storage {

// ---- tenants ----

Result<Tenant> create_tenant(Database& db, std::string_view name) {
    Tenant t{new_id("ten"), std::string(name), now_ms()};
    auto st = db.prepare("INSERT INTO tenants(id, name, created_at) VALUES (?, ?, ?)");
    if (!st) return tl::unexpected(st.error());
    POSTERN_TRY(st->bind(1, t.id).bind(2, t.name).bind(3, t.created_at).run());
    return t;
}

Result<std::optional<Tenant>> default_tenant(Database& db) {
    auto st = db.prepare("SELECT id, name, created_at FROM tenants ORDER BY id LIMIT 1");
    if (!st) return tl::unexpected(st.error());
    auto row = st->step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return std::optional<Tenant>();
    return std::optional<Tenant>(Tenant{st->text(0), st->text(1), st->int64(2)});
}

// ---- domains ----

namespace {
Domain read_domain(const Statement& st) {
    Domain d;
    d.id = st.text(0);
    d.tenant_id = st.text(1);
    d.name = st.text(2);
    d.created_at = st.int64(3);
    d.dkim_selector = st.text(4);
    d.ownership_token = st.opt_text(5);
    d.ownership_verified_at = st.opt_int64(6);
    d.spf_verified_at = st.opt_int64(7);
    d.dkim_verified_at = st.opt_int64(8);
    d.checked_at = st.opt_int64(9);
    d.last_check_json = st.opt_text(10);
    return d;
}
constexpr const char* kDomainCols =
    "id, tenant_id, name, created_at, dkim_selector, ownership_token, ownership_verified_at, "
    "spf_verified_at, dkim_verified_at, checked_at, last_check";
Result<std::optional<Domain>> one_domain(Statement& st) {
    auto row = st.step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return std::optional<Domain>();
    return std::optional<Domain>(read_domain(st));
}
}  // namespace

Result<Domain> create_domain(Database& db, std::string_view tenant_id, std::string_view name) {
    auto normalized = normalize_domain(name);
    if (!normalized) return tl::unexpected(normalized.error());
    if (!is_hostable_domain(*normalized))
        return fail(Errc::invalid_argument,
                    "not a domain we can host mail for (two labels or more, a top-level label "
                    "that is not all digits, valid A-labels): " +
                        printable(*normalized, 100));
    Domain d;
    d.id = new_id("dom");
    d.tenant_id = std::string(tenant_id);
    d.name = *normalized;
    d.created_at = now_ms();
    d.dkim_selector = "postern";
    auto st = db.prepare("INSERT INTO domains(id, tenant_id, name, created_at) VALUES (?,?,?,?)");
    if (!st) return tl::unexpected(st.error());
    auto r = st->bind(1, d.id).bind(2, d.tenant_id).bind(3, d.name).bind(4, d.created_at).run();
    if (!r) {
        if (r.error().code() == Errc::conflict)
            return fail(Errc::conflict, "domain " + d.name + " already exists");
        return tl::unexpected(r.error());
    }
    return d;
}

Result<std::vector<Domain>> list_domains(Database& db, std::string_view tenant_id) {
    auto st = db.prepare(std::string("SELECT ") + kDomainCols +
                         " FROM domains WHERE tenant_id = ? ORDER BY name");
    if (!st) return tl::unexpected(st.error());
    st->bind(1, tenant_id);
    std::vector<Domain> out;
    for (;;) {
        auto row = st->step();
        if (!row) return tl::unexpected(row.error());
        if (!*row) break;
        out.push_back(read_domain(*st));
    }
    return out;
}

Result<std::optional<Domain>> find_domain(Database& db, std::string_view name) {
    auto st = db.prepare(std::string("SELECT ") + kDomainCols + " FROM domains WHERE name = ?");
    if (!st) return tl::unexpected(st.error());
    st->bind(1, name);
    return one_domain(*st);
}

Result<std::optional<Domain>> find_tenant_domain(Database& db, std::string_view tenant_id,
                                                 std::string_view id_or_name) {
    std::string name(id_or_name);
    if (!is_id(id_or_name, "dom")) {
        auto normalized = normalize_domain(id_or_name);
        if (!normalized) return std::optional<Domain>();
        name = *normalized;
    }
    auto st = db.prepare(std::string("SELECT ") + kDomainCols +
                         " FROM domains WHERE (id = ?1 OR name = ?1) AND tenant_id = ?2");
    if (!st) return tl::unexpected(st.error());
    st->bind(1, name).bind(2, tenant_id);
    return one_domain(*st);
}

Result<void> set_domain_auth(Database& db, std::string_view domain_id,
                             std::string_view dkim_selector, std::string_view ownership_token) {
    auto st = db.prepare("UPDATE domains SET dkim_selector = ?, ownership_token = ? WHERE id = ?");
    if (!st) return tl::unexpected(st.error());
    return st->bind(1, dkim_selector).bind(2, ownership_token).bind(3, domain_id).run();
}

Result<DkimKeyRow> add_dkim_key(Database& db, const Domain& domain, std::string_view selector,
                                std::string_view algorithm, std::string_view private_pem,
                                std::string_view public_b64) {
    DkimKeyRow k{new_id("dkk"),
                 domain.tenant_id,
                 domain.id,
                 std::string(selector),
                 std::string(algorithm),
                 std::string(private_pem),
                 std::string(public_b64),
                 now_ms()};
    auto st = db.prepare(
        "INSERT INTO dkim_keys(id, tenant_id, domain_id, selector, algorithm, private_pem, "
        "public_b64, created_at) VALUES (?,?,?,?,?,?,?,?)");
    if (!st) return tl::unexpected(st.error());
    POSTERN_TRY(st->bind(1, k.id)
                    .bind(2, k.tenant_id)
                    .bind(3, k.domain_id)
                    .bind(4, k.selector)
                    .bind(5, k.algorithm)
                    .bind(6, k.private_pem)
                    .bind(7, k.public_b64)
                    .bind(8, k.created_at)
                    .run());
    return k;
}

Result<Domain> create_hosted_domain(Database& db, std::string_view tenant_id, std::string_view name,
                                    std::string_view dkim_selector,
                                    std::string_view ownership_token,
                                    const std::vector<NewDkimKey>& keys, std::string_view actor,
                                    std::int64_t now) {
    auto d = create_domain(db, tenant_id, name);
    if (!d) return tl::unexpected(d.error());
    POSTERN_TRY(set_domain_auth(db, d->id, dkim_selector, ownership_token));
    for (const auto& k : keys) {
        auto added = add_dkim_key(db, *d, k.selector, k.algorithm, k.private_pem, k.public_b64);
        if (!added) return tl::unexpected(added.error());
    }
    boost::json::object detail{{"name", d->name}};
    POSTERN_TRY(
        append_audit(db, tenant_id, actor, "domain.create", d->id, boost::json::serialize(detail)));
    detail["domain_id"] = d->id;
    POSTERN_TRY(append_event(db, tenant_id, std::nullopt, "domain.created",
                             boost::json::serialize(detail), now));
    d->dkim_selector = std::string(dkim_selector);
    d->ownership_token = std::string(ownership_token);
    return d;
}

Result<std::vector<DkimKeyRow>> list_dkim_keys(Database& db, std::string_view domain_id) {
    auto st = db.prepare(
        "SELECT id, tenant_id, domain_id, selector, algorithm, private_pem, public_b64, "
        "created_at FROM dkim_keys WHERE domain_id = ? ORDER BY algorithm DESC, id");
    if (!st) return tl::unexpected(st.error());
    st->bind(1, domain_id);
    std::vector<DkimKeyRow> out;
    for (;;) {
        auto row = st->step();
        if (!row) return tl::unexpected(row.error());
        if (!*row) break;
        out.push_back(DkimKeyRow{st->text(0), st->text(1), st->text(2), st->text(3), st->text(4),
                                 st->text(5), st->text(6), st->int64(7)});
    }
    return out;
}

Result<void> record_domain_check(Database& db, const Domain& domain, const DomainVerification& v,
                                 std::string_view actor, std::int64_t now) {
    auto st = db.prepare(
        "UPDATE domains SET "
        "ownership_verified_at = CASE WHEN ?1 THEN coalesce(ownership_verified_at, ?4) END, "
        "spf_verified_at = CASE WHEN ?2 THEN coalesce(spf_verified_at, ?4) END, "
        "dkim_verified_at = CASE WHEN ?3 THEN coalesce(dkim_verified_at, ?4) END, "
        "checked_at = ?4, last_check = ?5 WHERE id = ?6");
    if (!st) return tl::unexpected(st.error());
    auto updated = st->bind(1, v.ownership ? 1 : 0)
                       .bind(2, v.spf ? 1 : 0)
                       .bind(3, v.dkim ? 1 : 0)
                       .bind(4, now)
                       .bind(5, v.results_json)
                       .bind(6, domain.id)
                       .run();
    if (!updated) return updated;
    if (db.changes() == 0) return fail(Errc::not_found, "no domain " + domain.id);
    POSTERN_TRY(append_audit(db, domain.tenant_id, actor, "domain.check", domain.id));
    boost::json::object data{{"domain_id", domain.id},
                             {"name", domain.name},
                             {"ownership", v.ownership},
                             {"spf", v.spf},
                             {"dkim", v.dkim}};
    return append_event(db, domain.tenant_id, std::nullopt, "domain.checked",
                        boost::json::serialize(data), now);
}

// ---- mailboxes ----

namespace {
constexpr const char* kMailboxCols = "id, tenant_id, domain_id, address, address_key, created_at";
Mailbox read_mailbox(const Statement& st) {
    return Mailbox{st.text(0), st.text(1), st.text(2), st.text(3), st.text(4), st.int64(5)};
}
Result<std::optional<Mailbox>> one_mailbox(Statement& st) {
    auto row = st.step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return std::optional<Mailbox>();
    return std::optional<Mailbox>(read_mailbox(st));
}
}  // namespace

Result<Mailbox> create_mailbox(Database& db, std::string_view tenant_id, std::string_view address) {
    auto addr = parse_address(address);
    if (!addr) return tl::unexpected(addr.error());
    auto domain = find_domain(db, addr->domain);
    if (!domain) return tl::unexpected(domain.error());
    if (!*domain || (*domain)->tenant_id != tenant_id)
        return fail(Errc::not_found,
                    "domain " + addr->domain + " is not hosted here (add it first)");
    Mailbox m{new_id("mbx"), std::string(tenant_id), (*domain)->id, addr->str(), addr->key(),
              now_ms()};
    auto st = db.prepare(
        "INSERT INTO mailboxes(id, tenant_id, domain_id, address, address_key, created_at) "
        "VALUES (?,?,?,?,?,?)");
    if (!st) return tl::unexpected(st.error());
    auto r = st->bind(1, m.id)
                 .bind(2, m.tenant_id)
                 .bind(3, m.domain_id)
                 .bind(4, m.address)
                 .bind(5, m.address_key)
                 .bind(6, m.created_at)
                 .run();
    if (!r) {
        if (r.error().code() == Errc::conflict)
            return fail(Errc::conflict, "mailbox " + m.address + " already exists");
        return tl::unexpected(r.error());
    }
    return m;
}

Result<std::vector<Mailbox>> list_mailboxes(Database& db, std::string_view tenant_id) {
    auto st = db.prepare(std::string("SELECT ") + kMailboxCols +
                         " FROM mailboxes WHERE tenant_id = ? ORDER BY address_key");
    if (!st) return tl::unexpected(st.error());
    st->bind(1, tenant_id);
    std::vector<Mailbox> out;
    for (;;) {
        auto row = st->step();
        if (!row) return tl::unexpected(row.error());
        if (!*row) break;
        out.push_back(read_mailbox(*st));
    }
    return out;
}

Result<std::optional<Mailbox>> find_mailbox_by_key(Database& db, std::string_view address_key) {
    auto st =
        db.prepare(std::string("SELECT ") + kMailboxCols + " FROM mailboxes WHERE address_key = ?");
    if (!st) return tl::unexpected(st.error());
    st->bind(1, address_key);
    return one_mailbox(*st);
}

Result<std::optional<Mailbox>> first_mailbox_of_domain(Database& db, std::string_view domain_id) {
    auto st = db.prepare(std::string("SELECT ") + kMailboxCols +
                         " FROM mailboxes WHERE domain_id = ? ORDER BY created_at, id LIMIT 1");
    if (!st) return tl::unexpected(st.error());
    st->bind(1, domain_id);
    return one_mailbox(*st);
}

Result<std::optional<Mailbox>> find_mailbox(Database& db, std::string_view tenant_id,
                                            std::string_view id_or_address) {
    if (id_or_address.find('@') != std::string_view::npos) {
        auto addr = parse_address(id_or_address);
        if (!addr) return std::optional<Mailbox>();
        auto st = db.prepare(std::string("SELECT ") + kMailboxCols +
                             " FROM mailboxes WHERE address_key = ? AND tenant_id = ?");
        if (!st) return tl::unexpected(st.error());
        st->bind(1, addr->key()).bind(2, tenant_id);
        return one_mailbox(*st);
    }
    auto st = db.prepare(std::string("SELECT ") + kMailboxCols +
                         " FROM mailboxes WHERE id = ? AND tenant_id = ?");
    if (!st) return tl::unexpected(st.error());
    st->bind(1, id_or_address).bind(2, tenant_id);
    return one_mailbox(*st);
}

// ---- tokens ----

namespace {
constexpr const char* kTokenCols =
    "id, tenant_id, mailbox_id, kind, hint, scopes, label, created_at, expires_at, revoked_at";
constexpr std::string_view kTokenPrefix = "pst_";
constexpr std::string_view kConnexPrefix = "cxk_live_";
constexpr std::string_view kConnexKind = "connex";
Token read_token(const Statement& st) {
    Token t;
    t.id = st.text(0);
    t.tenant_id = st.text(1);
    t.mailbox_id = st.opt_text(2);
    t.kind = st.text(3);
    t.hint = st.text(4);
    t.scopes = split_scopes(st.text(5));
    t.label = st.opt_text(6);
    t.created_at = st.int64(7);
    t.expires_at = st.opt_int64(8);
    t.revoked_at = st.opt_int64(9);
    return t;
}
}  // namespace

Result<NewToken> create_token(Database& db, std::string_view tenant_id,
                              const std::optional<std::string>& mailbox_id,
                              const std::vector<std::string>& scopes,
                              const std::optional<std::string>& label,
                              std::optional<std::int64_t> expires_at, std::string_view kind) {
    if (scopes.empty()) return fail(Errc::invalid_argument, "a token needs at least one scope");
    for (const auto& s : scopes)
        if (!is_known_scope(s)) return fail(Errc::invalid_argument, "unknown scope '" + s + "'");
    bool connex = kind == kConnexKind;
    if (!connex && kind != "mailbox")
        return fail(Errc::invalid_argument, "unknown token kind '" + std::string(kind) + "'");
    if (connex && mailbox_id)
        return fail(Errc::invalid_argument, "Connex API keys are tenant-wide (no mailbox)");
    for (const auto& s : scopes)
        if (is_connex_scope(s) != connex)
            return fail(Errc::invalid_argument,
                        connex ? "scope '" + s + "' is not a Connex scope"
                               : "scope '" + s + "' needs a Connex API key (--kind connex)");
    std::string_view prefix = connex ? kConnexPrefix : kTokenPrefix;
    NewToken out;
    out.secret = std::string(prefix) + base64url_encode(random_bytes(32));  // 256 bits
    Token& t = out.token;
    t.id = new_id("tok");
    t.tenant_id = std::string(tenant_id);
    t.mailbox_id = mailbox_id;
    t.kind = std::string(kind);
    t.hint =
        out.secret.substr(0, prefix.size() + 4) + "…" + out.secret.substr(out.secret.size() - 4);
    t.scopes = scopes;
    t.label = label;
    t.created_at = now_ms();
    t.expires_at = expires_at;
    auto st = db.prepare(
        "INSERT INTO tokens(id, tenant_id, mailbox_id, kind, token_hash, hint, scopes, label, "
        "created_at, expires_at) VALUES (?,?,?,?,?,?,?,?,?,?)");
    if (!st) return tl::unexpected(st.error());
    POSTERN_TRY(st->bind(1, t.id)
                    .bind(2, t.tenant_id)
                    .bind(3, t.mailbox_id)
                    .bind(4, t.kind)
                    .bind(5, sha256_hex(out.secret))
                    .bind(6, t.hint)
                    .bind(7, join_scopes(t.scopes))
                    .bind(8, t.label)
                    .bind(9, t.created_at)
                    .bind(10, t.expires_at)
                    .run());
    return out;
}

Result<std::vector<Token>> list_tokens(Database& db, std::string_view tenant_id) {
    auto st = db.prepare(std::string("SELECT ") + kTokenCols +
                         " FROM tokens WHERE tenant_id = ? ORDER BY id");
    if (!st) return tl::unexpected(st.error());
    st->bind(1, tenant_id);
    std::vector<Token> out;
    for (;;) {
        auto row = st->step();
        if (!row) return tl::unexpected(row.error());
        if (!*row) break;
        out.push_back(read_token(*st));
    }
    return out;
}

Result<bool> revoke_token(Database& db, std::string_view tenant_id, std::string_view token_id) {
    auto st = db.prepare(
        "UPDATE tokens SET revoked_at = ? WHERE id = ? AND tenant_id = ? AND revoked_at IS NULL");
    if (!st) return tl::unexpected(st.error());
    POSTERN_TRY(st->bind(1, now_ms()).bind(2, token_id).bind(3, tenant_id).run());
    if (db.changes() > 0) return true;
    auto exists = db.prepare("SELECT 1 FROM tokens WHERE id = ? AND tenant_id = ?");
    if (!exists) return tl::unexpected(exists.error());
    exists->bind(1, token_id).bind(2, tenant_id);
    auto row = exists->step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return fail(Errc::not_found, "no token " + std::string(token_id));
    return false;
}

Result<std::optional<Token>> find_token_by_secret(Database& db, std::string_view secret) {
    if (secret.size() > 512) return std::optional<Token>();
    auto st = db.prepare(std::string("SELECT ") + kTokenCols + " FROM tokens WHERE token_hash = ?");
    if (!st) return tl::unexpected(st.error());
    st->bind(1, sha256_hex(secret));
    auto row = st->step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return std::optional<Token>();
    return std::optional<Token>(read_token(*st));
}

// ---- audit ----

Result<void> append_audit(Database& db, std::string_view tenant_id, std::string_view actor,
                          std::string_view action, std::string_view target,
                          std::string_view detail_json) {
    auto st = db.prepare(
        "INSERT INTO audit_log(tenant_id, actor, action, target, created_at, detail) "
        "VALUES (?,?,?,?,?,?)");
    if (!st) return tl::unexpected(st.error());
    return st->bind(1, tenant_id)
        .bind(2, actor)
        .bind(3, action)
        .bind(4, target)
        .bind(5, now_ms())
        .bind(6, detail_json)
        .run();
}

Result<void> log_token_created(Database& db, const Token& token, std::string_view actor) {
    boost::json::object detail{{"kind", token.kind}, {"scopes", join_scopes(token.scopes)}};
    POSTERN_TRY(append_audit(db, token.tenant_id, actor, "token.create", token.id,
                             boost::json::serialize(detail)));
    detail["token_id"] = token.id;
    if (token.mailbox_id) detail["mailbox_id"] = *token.mailbox_id;
    return append_event(db, token.tenant_id, token.mailbox_id, "token.created",
                        boost::json::serialize(detail), now_ms());
}

Result<void> log_token_revoked(Database& db, std::string_view tenant_id, std::string_view token_id,
                               std::string_view actor) {
    POSTERN_TRY(append_audit(db, tenant_id, actor, "token.revoke", token_id));
    boost::json::object data{{"token_id", token_id}};
    return append_event(db, tenant_id, std::nullopt, "token.revoked", boost::json::serialize(data),
                        now_ms());
}

}  // namespace postern::storage
