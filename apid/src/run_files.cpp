#include "apid/run_files.hpp"

#include <unistd.h>

#include <fstream>
#include <system_error>

namespace postern::api {

Result<void> write_run_file(const std::filesystem::path& dir, std::string_view name,
                            std::string_view contents) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return fail(Errc::io, "cannot create " + dir.string() + ": " + ec.message());
    auto final_path = dir / std::string(name);
    auto tmp = dir / (std::string(name) + ".tmp." + std::to_string(::getpid()));
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
        out.flush();
        if (!out) return fail(Errc::io, "cannot write " + tmp.string());
    }
    std::filesystem::rename(tmp, final_path, ec);
    if (ec) {
        std::filesystem::remove(tmp, ec);
        return fail(Errc::io, "cannot rename to " + final_path.string());
    }
    return {};
}

void remove_run_file(const std::filesystem::path& dir, std::string_view name) {
    std::error_code ec;
    std::filesystem::remove(dir / std::string(name), ec);
}

}  // namespace postern::api
