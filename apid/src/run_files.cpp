#include "apid/run_files.hpp"

#include <system_error>

#include "common/files.hpp"

namespace postern::api {

Result<void> write_run_file(const std::filesystem::path& dir, std::string_view name,
                            std::string_view contents) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return fail(Errc::io, "cannot create " + dir.string() + ": " + ec.message());
    return write_file_atomically(dir / std::string(name), contents, 0644);
}

void remove_run_file(const std::filesystem::path& dir, std::string_view name) {
    std::error_code ec;
    std::filesystem::remove(dir / std::string(name), ec);
}

}  // namespace postern::api
