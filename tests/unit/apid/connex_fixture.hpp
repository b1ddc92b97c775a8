#pragma once
// The apid Fixture plus what the Connex tests need: a Connex API key for the fixture's tenant, a
// second tenant with its own key (isolation), admin tokens (the session stand-in) and a helper
// that runs a request through Api::handle and, for a state change, its deferred write inline.
#include <optional>
#include <string>

#include "fixture.hpp"
#include "storage/connex_repo.hpp"

namespace postern::api::test {

struct ConnexFixture : Fixture {
    storage::Tenant other;
    std::string key;  // cxk_live_… with status:evaluate, tenant `tenant`
    std::string key_id;
    std::string other_key;      // cxk_live_… of tenant `other`
    std::string admin;          // pst_… tenant-wide, admin
    std::string mailbox_admin;  // pst_… bound to alice, admin

    ConnexFixture() {
        auto k = must(storage::create_token(*db, tenant.id, std::nullopt, {"status:evaluate"},
                                            std::nullopt, std::nullopt, "connex"));
        key = k.secret;
        key_id = k.token.id;
        other = must(storage::create_tenant(*db, "other"));
        other_key = must(storage::create_token(*db, other.id, std::nullopt, {"status:evaluate"},
                                               std::nullopt, std::nullopt, "connex"))
                        .secret;
        admin = must(storage::create_token(*db, tenant.id, std::nullopt, {"admin"}, std::nullopt))
                    .secret;
        mailbox_admin =
            must(storage::create_token(*db, tenant.id, alice.id, {"admin"}, std::nullopt)).secret;
    }

    Response call(Api& a, const std::string& method, const std::string& target,
                  const std::optional<std::string>& token, const std::string& body = "",
                  const std::string& remote = "192.0.2.1") {
        Request r;
        r.method = method;
        r.target = target;
        if (token) r.authorization = "Bearer " + *token;
        r.body = body;
        r.remote_address = remote;
        return Api::run_inline(a.handle(r, *db, now), *db);
    }
    Response post(const std::string& target, const std::optional<std::string>& token,
                  const std::string& body = "", const std::string& remote = "192.0.2.1") {
        return call(api, "POST", target, token, body, remote);
    }

    std::int64_t count(const std::string& sql) {
        auto st = must(db->prepare(sql));
        if (!must(st.step())) throw std::runtime_error("no row: " + sql);
        return st.int64(0);
    }
};

// An IntegrationEventRequest; `extra` is spliced in as more members (",\"k\": v").
inline std::string event_body(const std::string& source_event_id,
                              const std::string& body = "Can you confirm terms before we proceed?",
                              const std::string& extra = "") {
    std::string id =
        source_event_id.empty() ? "" : R"("sourceEventId": ")" + source_event_id + R"(", )";
    return R"({"app": "your-saas", "sourceSystem": "your-saas", )" + id +
           R"("eventType": "inbound_reply", "message": {"subject": "Need approval before moving forward", "body": ")" +
           body + R"("})" + extra + "}";
}

}  // namespace postern::api::test
