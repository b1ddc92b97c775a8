#pragma once
// A file compiled into the binary by cmake/embed.cmake (SQL migrations, the OpenAPI document).
#include <string_view>

namespace postern {
struct EmbeddedFile {
    std::string_view name;
    std::string_view contents;
};
}  // namespace postern
