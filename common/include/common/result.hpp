#pragma once
// Error values for expected failures (bad input, I/O, DNS, disk full). Start-up and configuration
// errors may throw; broken invariants abort. See STYLE.md §4.
#include <string>
#include <tl/expected.hpp>
#include <utility>

namespace postern {

enum class Errc {
    ok = 0,
    invalid_argument,  // the caller's input is malformed
    not_found,         // the object does not exist (or is not visible)
    conflict,          // duplicate, or a state that forbids the change
    io,                // file system, socket, database I/O
    limit,             // a configured bound was exceeded
    no_space,          // the disk (or the database's size limit) is full: SQLITE_FULL
    unauthorized,
    forbidden,
    internal,
};

class [[nodiscard]] Error {
 public:
    Error() = default;
    Error(Errc code, std::string message) : code_(code), message_(std::move(message)) {}

    Errc code() const { return code_; }
    const std::string& message() const { return message_; }

 private:
    Errc code_ = Errc::internal;
    std::string message_;
};

template <class T>
using Result = tl::expected<T, Error>;

inline tl::unexpected<Error> fail(Errc code, std::string message) {
    return tl::unexpected<Error>(Error(code, std::move(message)));
}

}  // namespace postern

// Returns the error of a Result-returning expression from the enclosing function.
#define POSTERN_TRY(expr)                                             \
    do {                                                              \
        if (auto postern_try_r_ = (expr); !postern_try_r_)            \
            return tl::unexpected(std::move(postern_try_r_).error()); \
    } while (0)
