#pragma once
// Whole files written so that nobody sees half of one: a temporary beside the target, written,
// synced and renamed over it. Its mode is set explicitly (the umask does not loosen or tighten
// it), and a symlink in the target's place is replaced, never followed.
#include <filesystem>
#include <string_view>

#include "common/result.hpp"

namespace postern {

// `mode`: 0600 for secrets (keys, the config), 0644 for what others may read.
[[nodiscard]] Result<void> write_file_atomically(const std::filesystem::path& path,
                                                 std::string_view contents, unsigned mode);

}  // namespace postern
