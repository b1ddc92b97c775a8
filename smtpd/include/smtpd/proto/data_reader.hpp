#pragma once
// Reads the body of an SMTP DATA command (RFC 5321 §4.1.1.4, §4.5.2) from chunks of bytes as
// they arrive: removes dot-stuffing, finds the end of data, and enforces the limits.
//
// - Only CRLF "." CRLF ends the data. A bare CR or bare LF anywhere (including "\n.\n",
//   "\r\n.\n", "\r.\r") is not a line ending: it is remembered, and the message must be refused
//   after its real end (SMTP smuggling, see the 2023 disclosures). The data is never split.
// - A text line over 1000 octets (998 plus CRLF) and a message over the size limit are
//   remembered too; the reader still consumes to the final dot (as chasquid's dotreader does) so
//   that the client and server stay in step, and the reply comes after it.
// - Once any of these is seen, nothing more is appended to the output and the output is
//   cleared, so a refused message costs no memory.
// A line, and the end marker itself, may straddle chunk boundaries.
//
// Pure; one instance per session, used by one thread at a time.
#include <cstdint>
#include <string>
#include <string_view>

namespace postern::smtp {

class DataReader {
 public:
    static constexpr std::size_t kMaxLine = 998;  // octets before CRLF (RFC 5321 §4.5.3.1.6)

    explicit DataReader(std::uint64_t max_size = 0) { reset(max_size); }

    // Starts a new message of at most `max_size` octets (after unstuffing).
    void reset(std::uint64_t max_size);

    // Consumes bytes from `in` up to and including the final CRLF.CRLF and appends the
    // unstuffed message (each line with its CRLF; without the final ".CRLF") to `out`.
    // Returns the number of bytes consumed: all of `in` unless the end of data was found,
    // in which case the rest belongs to the next command.
    std::size_t feed(std::string_view in, std::string& out);

    // BDAT (RFC 3030): `in` is chunk content, taken whole: no dot-stuffing and no end marker,
    // but the same checks as DATA (bare CR or LF, lines over 998 octets, the size limit), so
    // that a message cannot carry through BDAT what DATA refuses (it may be relayed with DATA
    // later). A line, and its CRLF, may straddle chunks.
    void feed_chunk(std::string_view in, std::string& out);
    // After BDAT LAST: a last line without its CRLF gets one; a trailing CR is a bare CR.
    void finish_chunks(std::string& out);

    bool done() const { return state_ == State::done; }
    bool ok() const { return flags_ == 0; }
    bool too_big() const { return flags_ & kTooBig; }
    bool line_too_long() const { return flags_ & kLineTooLong; }
    bool bare_line_ending() const { return flags_ & kBareLineEnding; }
    // Octets of message seen (unstuffed, counted until the first problem).
    std::uint64_t size() const { return size_; }

 private:
    enum class State : std::uint8_t {
        line_start,  // after CRLF (or at the start of data)
        dot,         // "." at the start of a line
        dot_cr,      // ".\r" at the start of a line
        middle,      // inside a line
        cr,          // "\r" inside a line
        done,
    };
    static constexpr unsigned kTooBig = 1, kLineTooLong = 2, kBareLineEnding = 4;

    void append(const char* p, std::size_t n, std::string& out);
    void flag(unsigned f, std::string& out);

    State state_ = State::line_start;
    unsigned flags_ = 0;
    std::uint64_t max_size_ = 0;
    std::uint64_t size_ = 0;
    // Octets of the current line as transmitted, less a stuffed leading dot.
    std::size_t line_len_ = 0;
};

}  // namespace postern::smtp
