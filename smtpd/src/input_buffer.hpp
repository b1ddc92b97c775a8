#pragma once
// A growable byte buffer for socket reads: bytes are appended at the back (prepare/commit) and
// consumed from the front. It allocates only when asked for room, so its size follows the
// largest read a session has asked for (connection.cpp keeps those small). Single-threaded.
#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>

namespace postern::smtp {

class InputBuffer {
 public:
    std::string_view data() const { return {buf_.get() + begin_, end_ - begin_}; }
    bool empty() const { return begin_ == end_; }
    std::size_t capacity() const { return cap_; }

    void consume(std::size_t n) {
        begin_ += n;
        if (begin_ == end_) begin_ = end_ = 0;
    }

    // Room for at least `want` more bytes at the back; returns where to write them.
    char* prepare(std::size_t want) {
        if (cap_ - end_ >= want) return buf_.get() + end_;
        std::size_t used = end_ - begin_;
        if (cap_ - used >= want) {
            std::memmove(buf_.get(), buf_.get() + begin_, used);
        } else {
            // Doubling, so that a partial line kept across reads does not cost an allocation
            // per read.
            std::size_t cap = std::max(used + want, 2 * cap_);
            auto bigger = std::make_unique_for_overwrite<char[]>(cap);
            if (used) std::memcpy(bigger.get(), buf_.get() + begin_, used);
            buf_ = std::move(bigger);
            cap_ = cap;
        }
        begin_ = 0;
        end_ = used;
        return buf_.get() + end_;
    }
    std::size_t room() const { return cap_ - end_; }
    void commit(std::size_t n) { end_ += n; }

 private:
    std::unique_ptr<char[]> buf_;
    std::size_t cap_ = 0, begin_ = 0, end_ = 0;
};

}  // namespace postern::smtp
