#pragma once
// Logging through spdlog to stderr. Secrets (tokens, keys) are never passed to these calls.
#include <string_view>

#include <spdlog/spdlog.h>

namespace postern {
// Sets the default logger's level ("trace".."off"); throws on an unknown level name.
void init_logging(std::string_view level, std::string_view name);
}  // namespace postern
