// Who may submit as which mailbox, why a domain may not send, and the header presence check the
// MSA uses before adding Date and Message-ID (smtpd/submit_policy.hpp).
#include "smtpd/submit_policy.hpp"

#include <catch2/catch.hpp>

using namespace postern;
using namespace postern::smtp;

namespace {

storage::Mailbox mailbox() {
    storage::Mailbox m;
    m.id = "mbx_1";
    m.tenant_id = "ten_1";
    m.address = "alice@example.com";
    m.address_key = "alice@example.com";
    return m;
}

storage::Token token(std::vector<std::string> scopes) {
    storage::Token t;
    t.id = "tok_1";
    t.tenant_id = "ten_1";
    t.mailbox_id = "mbx_1";
    t.kind = "mailbox";
    t.scopes = std::move(scopes);
    return t;
}

}  // namespace

TEST_CASE("submit policy: which tokens may submit for a mailbox") {
    const auto m = mailbox();
    const std::int64_t now = 1'000'000;
    CHECK(token_may_submit(token({"email:send"}), m, now));
    CHECK(token_may_submit(token({"write"}), m, now));
    CHECK(token_may_submit(token({"full"}), m, now));
    CHECK_FALSE(token_may_submit(token({"email:read"}), m, now));
    CHECK_FALSE(token_may_submit(token({"read", "email:write"}), m, now));

    auto tenant_wide = token({"email:send"});
    tenant_wide.mailbox_id.reset();
    CHECK_FALSE(token_may_submit(tenant_wide, m, now));  // documented: refused

    auto other = token({"email:send"});
    other.mailbox_id = "mbx_2";
    CHECK_FALSE(token_may_submit(other, m, now));

    auto foreign = token({"email:send"});
    foreign.tenant_id = "ten_2";
    CHECK_FALSE(token_may_submit(foreign, m, now));

    auto connex = token({"email:send"});
    connex.kind = "connex";
    CHECK_FALSE(token_may_submit(connex, m, now));

    auto revoked = token({"email:send"});
    revoked.revoked_at = now - 1;
    CHECK_FALSE(token_may_submit(revoked, m, now));

    auto expired = token({"email:send"});
    expired.expires_at = now;
    CHECK_FALSE(token_may_submit(expired, m, now));
    expired.expires_at = now + 1;
    CHECK(token_may_submit(expired, m, now));
}

TEST_CASE("submit policy: a domain sends only when ownership, SPF and DKIM are verified") {
    storage::Domain d;
    d.name = "example.com";
    CHECK(send_refusal(d) ==
          "Domain example.com is not verified for sending (ownership, SPF, DKIM not verified); "
          "run `postern domain check example.com`");
    d.ownership_verified_at = 1;
    d.dkim_verified_at = 1;
    CHECK(send_refusal(d).find("(SPF not verified)") != std::string::npos);
    d.spf_verified_at = 1;
    CHECK(send_refusal(d).empty());
}

TEST_CASE("submit policy: header presence in the header section only") {
    const std::string msg =
        "From: a@b.test\r\nmessage-id: <x@y>\r\nSubject: Date: not a field\r\n\r\n"
        "Date: in the body\r\n";
    CHECK(has_header(msg, "Message-ID"));
    CHECK(has_header(msg, "from"));
    CHECK_FALSE(has_header(msg, "Date"));
    CHECK_FALSE(has_header(msg, "Message"));
    CHECK_FALSE(has_header("\r\nDate: x\r\n", "Date"));
    CHECK(has_header("Date: x", "Date"));
    CHECK(has_header("X: 1\nDate: x\n\nbody", "Date"));
    CHECK_FALSE(has_header("", "Date"));
}
