#include "apid/http.hpp"

#include <strings.h>

namespace postern::api {

Response Response::json(unsigned status, std::string body) {
    Response r;
    r.status = status;
    r.content_type = "application/json";
    r.body = std::move(body);
    return r;
}

const std::string* Response::header(std::string_view name) const {
    for (const auto& [k, v] : headers)
        if (k.size() == name.size() && ::strncasecmp(k.data(), name.data(), k.size()) == 0)
            return &v;
    return nullptr;
}

Response deferred(std::function<Result<void>(storage::Database&)> job,
                  std::function<Response(const Result<void>&)> finish) {
    Response r;
    r.status = 0;  // not a reply yet
    r.deferred = std::make_shared<DeferredWrite>(DeferredWrite{std::move(job), std::move(finish)});
    return r;
}

}  // namespace postern::api
