#pragma once
// The daemon's files in DATA/run/: `postern-apid.addr` (one "<listener> <host>:<port>" line per
// bound socket, read by tests and tools) and `postern-apid.pid`. Each is written to a temporary
// file and renamed, so a reader never sees a partial line. Used only from main's thread.
#include <filesystem>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace postern::api {

// Writes DIR/NAME atomically (DIR created if missing).
[[nodiscard]] Result<void> write_run_file(const std::filesystem::path& dir, std::string_view name,
                                          std::string_view contents);
// Removes DIR/NAME if present; errors are ignored (best effort at exit).
void remove_run_file(const std::filesystem::path& dir, std::string_view name);

}  // namespace postern::api
