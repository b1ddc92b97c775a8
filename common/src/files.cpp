#include "common/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace postern {

Result<void> write_file_atomically(const std::filesystem::path& path, std::string_view contents,
                                   unsigned mode) {
    std::filesystem::path tmp = path;
    tmp += ".tmp." + std::to_string(::getpid());
    auto failed = [&](const std::string& what) {
        std::string message = what + " " + tmp.string() + ": " + std::strerror(errno);
        ::unlink(tmp.c_str());
        return fail(Errc::io, std::move(message));
    };
    ::unlink(tmp.c_str());  // a leftover of a run that died
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                    static_cast<mode_t>(mode));
    if (fd < 0) return failed("cannot create");
    bool ok = ::fchmod(fd, static_cast<mode_t>(mode)) == 0;
    for (std::size_t done = 0; ok && done < contents.size();) {
        ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
        if (n < 0 && errno == EINTR) continue;
        ok = n > 0;
        if (ok) done += static_cast<std::size_t>(n);
    }
    ok = ok && ::fsync(fd) == 0;
    if (::close(fd) != 0) ok = false;
    if (!ok) return failed("cannot write");
    if (::rename(tmp.c_str(), path.c_str()) != 0) return failed("cannot rename");
    return {};
}

}  // namespace postern
