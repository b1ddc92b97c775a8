#pragma once
// Plain rows returned by the repositories. Times are Unix milliseconds.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace postern::storage {

struct Tenant {
    std::string id;  // ten_…
    std::string name;
    std::int64_t created_at = 0;
};

struct Domain {
    std::string id;  // dom_…
    std::string tenant_id;
    std::string name;  // lowercase A-label
    std::int64_t created_at = 0;
    std::string dkim_selector;  // base selector; keys use "<base>-rsa" and "<base>-ed25519"
    std::optional<std::string> ownership_token;
    std::optional<std::int64_t> ownership_verified_at;
    std::optional<std::int64_t> spf_verified_at;
    std::optional<std::int64_t> dkim_verified_at;
    std::optional<std::int64_t> checked_at;
    std::optional<std::string> last_check_json;
    // Sending from the domain needs all three (issue: domain onboarding).
    bool can_send() const { return ownership_verified_at && spf_verified_at && dkim_verified_at; }
};

struct DkimKeyRow {
    std::string id;  // dkk_…
    std::string tenant_id;
    std::string domain_id;
    std::string selector;
    std::string algorithm;    // rsa-sha256 | ed25519-sha256
    std::string private_pem;  // secret
    std::string public_b64;
    std::int64_t created_at = 0;
};

struct Mailbox {
    std::string id;  // mbx_…
    std::string tenant_id;
    std::string domain_id;
    std::string address;      // as created
    std::string address_key;  // lowercase local@domain
    std::int64_t created_at = 0;
};

struct Token {
    std::string id;  // tok_…
    std::string tenant_id;
    std::optional<std::string> mailbox_id;  // none: tenant-wide
    std::string kind;                       // "mailbox" (pst_…) or "connex" (cxk_live_…)
    std::string hint;                       // e.g. "pst_ab12…9f0c": safe to show
    std::vector<std::string> scopes;
    std::optional<std::string> label;
    std::int64_t created_at = 0;
    std::optional<std::int64_t> expires_at;
    std::optional<std::int64_t> revoked_at;
};

struct MessageRow {
    std::string id;  // msg_…
    std::string tenant_id;
    std::string mailbox_id;
    std::string thread_id;
    std::string blob_sha256;
    std::string folder;
    std::optional<std::string> message_id_hdr;
    std::optional<std::string> in_reply_to;
    std::optional<std::string> references_hdr;
    std::string from_json;  // JSON array of {"name","address"}
    std::string to_json;
    std::string cc_json;
    std::string subject;
    std::optional<std::int64_t> date;
    std::int64_t received_at = 0;
    std::int64_t size = 0;
    std::string snippet;
    bool has_attachments = false;
    std::string flags_json;  // JSON array of strings
    std::string envelope_from;
    std::string envelope_to;
    // Mail authentication results (SPF, DKIM, DMARC) as JSON, see smtpd/auth/verdict.hpp
    // auth_json(); "" when the message was not checked.
    std::string auth_json;
};

struct ThreadRow {
    std::string id;  // thr_…
    std::string tenant_id;
    std::string mailbox_id;
    std::string subject;
    std::int64_t message_count = 0;
    std::string last_message_id;
    std::int64_t created_at = 0;
    std::int64_t updated_at = 0;
    std::string participants_json;  // JSON array of addresses (from participants_key)
};

}  // namespace postern::storage
