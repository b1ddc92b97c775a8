#include "smtpd/proto/data_reader.hpp"

namespace postern::smtp {

void DataReader::reset(std::uint64_t max_size) {
    state_ = State::line_start;
    flags_ = 0;
    max_size_ = max_size;
    size_ = 0;
    line_len_ = 0;
}

void DataReader::flag(unsigned f, std::string& out) {
    flags_ |= f;
    // The message will be refused: drop what we have and keep nothing more.
    std::string().swap(out);
}

void DataReader::append(const char* p, std::size_t n, std::string& out) {
    if (flags_ != 0 || n == 0) return;
    if (size_ + n > max_size_) {
        flag(kTooBig, out);
        return;
    }
    size_ += n;
    out.append(p, n);
}

std::size_t DataReader::feed(std::string_view in, std::string& out) {
    const char* const begin = in.data();
    const char* const end = begin + in.size();
    const char* p = begin;
    static constexpr char kCrLf[] = "\r\n";
    while (p < end) {
        switch (state_) {
            case State::line_start:
                line_len_ = 0;
                if (*p == '.') {
                    // Not counted: the 1000-octet limit leaves out the dot added for
                    // transparency (RFC 5321 §4.5.3.1.6), and a stuffed dot is dropped below.
                    ++p;
                    state_ = State::dot;
                } else {
                    state_ = State::middle;
                }
                break;
            case State::dot:
                if (*p == '\r') {
                    ++p;
                    state_ = State::dot_cr;
                } else {
                    state_ = State::middle;  // a stuffed dot: it was dropped above
                }
                break;
            case State::dot_cr:
                if (*p == '\n') {
                    ++p;
                    state_ = State::done;
                    return static_cast<std::size_t>(p - begin);
                }
                // ".\r" then something else: a bare CR, not the end of data.
                flag(kBareLineEnding, out);
                state_ = State::middle;
                break;
            case State::middle: {
                // The hot loop: copy a run of line text in one append.
                const char* q = p;
                while (q < end && *q != '\r' && *q != '\n') ++q;
                std::size_t n = static_cast<std::size_t>(q - p);
                line_len_ += n;
                if (line_len_ > kMaxLine && !(flags_ & kLineTooLong)) flag(kLineTooLong, out);
                append(p, n, out);
                p = q;
                if (p == end) break;
                if (*p == '\n') {
                    flag(kBareLineEnding, out);  // bare LF: stays inside the "line"
                    ++p;
                } else {
                    ++p;
                    state_ = State::cr;
                }
                break;
            }
            case State::cr:
                if (*p == '\n') {
                    ++p;
                    append(kCrLf, 2, out);
                    state_ = State::line_start;
                } else {
                    flag(kBareLineEnding, out);  // bare CR
                    state_ = State::middle;
                }
                break;
            case State::done:
                return static_cast<std::size_t>(p - begin);
        }
    }
    return static_cast<std::size_t>(p - begin);
}

void DataReader::feed_chunk(std::string_view in, std::string& out) {
    static constexpr char kCrLf[] = "\r\n";
    const char* p = in.data();
    const char* const end = p + in.size();
    while (p < end) {
        if (state_ == State::cr) {
            if (*p == '\n') {
                ++p;
                append(kCrLf, 2, out);
                line_len_ = 0;
                state_ = State::line_start;
            } else {
                flag(kBareLineEnding, out);  // bare CR
                state_ = State::middle;
            }
            continue;
        }
        const char* q = p;
        while (q < end && *q != '\r' && *q != '\n') ++q;
        std::size_t n = static_cast<std::size_t>(q - p);
        line_len_ += n;
        if (line_len_ > kMaxLine && !(flags_ & kLineTooLong)) flag(kLineTooLong, out);
        append(p, n, out);
        if (n != 0) state_ = State::middle;
        p = q;
        if (p == end) break;
        ++p;
        if (p[-1] == '\n') {
            flag(kBareLineEnding, out);  // bare LF
            state_ = State::middle;
        } else {
            state_ = State::cr;
        }
    }
}

void DataReader::finish_chunks(std::string& out) {
    static constexpr char kCrLf[] = "\r\n";
    if (state_ == State::cr) {
        flag(kBareLineEnding, out);
    } else if (state_ == State::middle) {
        append(kCrLf, 2, out);
    }
    state_ = State::done;
}

}  // namespace postern::smtp
