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

}  // namespace postern::api
