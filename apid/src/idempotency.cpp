#include "idempotency.hpp"

#include <memory>

#include "apid/problem.hpp"
#include "common/crypto.hpp"
#include "storage/outbound.hpp"

namespace postern::api {

namespace {

Response replay(const storage::IdempotentResponse& stored) {
    Response r = Response::json(static_cast<unsigned>(stored.status), stored.response);
    r.add_header("Idempotent-Replayed", "true");
    return r;
}

Response conflict() {
    return problem(409,
                   "this Idempotency-Key was already used with another request (another body, "
                   "or another route or message); use a new key for a different request");
}

bool valid_key(std::string_view key) {
    if (key.empty() || key.size() > kMaxIdempotencyKey) return false;
    for (char ch : key)
        if (static_cast<unsigned char>(ch) < 0x21 || static_cast<unsigned char>(ch) > 0x7E)
            return false;
    return true;
}

}  // namespace

tl::expected<std::optional<IdempotencyKey>, Response> begin_idempotent(const Context& c,
                                                                       std::string_view route) {
    if (!c.request.idempotency_key) return std::optional<IdempotencyKey>();
    const std::string& key = *c.request.idempotency_key;
    if (!valid_key(key))
        return tl::unexpected(
            bad_request({{"Idempotency-Key",
                          "must be 1-255 visible ASCII characters (a UUID is a good key)"}}));
    // The decoded path: "/v1/mailboxes/a%40x.test/messages" is the same request as with "@".
    std::string path;
    for (const auto& segment : c.target.segments) path += "/" + segment;
    IdempotencyKey k{c.token->tenant_id, c.token->id, key, std::string(route),
                     sha256_hex(c.request.method + " " + path + "\n" + c.request.body)};
    auto found = storage::find_idempotent(c.db, k.tenant_id, k.principal, k.key, c.now);
    if (!found) return tl::unexpected(storage_failure(found.error(), "find_idempotent"));
    if (*found) {
        if ((*found)->request_sha256 != k.request_sha256) return tl::unexpected(conflict());
        return tl::unexpected(replay(**found));
    }
    return std::optional<IdempotencyKey>(std::move(k));
}

Response idempotent_write(std::optional<IdempotencyKey> key,
                          std::function<Result<JsonReply>(storage::Database&)> work,
                          std::string what, std::int64_t now) {
    // The job's outcome, read by finish after the commit (the job runs before finish).
    struct Outcome {
        std::optional<Response> early;  // replay or conflict found inside the transaction
        JsonReply reply;
    };
    auto out = std::make_shared<Outcome>();
    auto shared_key = std::make_shared<std::optional<IdempotencyKey>>(std::move(key));
    return deferred(
        [out, shared_key, now, work = std::move(work)](storage::Database& db) -> Result<void> {
            const auto& k = *shared_key;
            if (k) {
                auto found = storage::find_idempotent(db, k->tenant_id, k->principal, k->key, now);
                if (!found) return tl::unexpected(found.error());
                if (*found) {
                    out->early = (*found)->request_sha256 == k->request_sha256 ? replay(**found)
                                                                               : conflict();
                    return {};
                }
            }
            auto reply = work(db);
            if (!reply) return tl::unexpected(reply.error());
            out->reply = std::move(*reply);
            if (k && out->reply.status >= 200 && out->reply.status < 300) {
                storage::IdempotentResponse saved{
                    k->request_sha256, static_cast<int>(out->reply.status), out->reply.body, now};
                POSTERN_TRY(storage::save_idempotent(db, k->tenant_id, k->principal, k->key,
                                                     k->route, saved));
            }
            return {};
        },
        [out, what = std::move(what)](const Result<void>& r) -> Response {
            if (!r) return storage_failure(r.error(), what);
            if (out->early) return *out->early;
            Response reply = Response::json(out->reply.status, out->reply.body);
            reply.content_type = out->reply.content_type;
            return reply;
        });
}

}  // namespace postern::api
