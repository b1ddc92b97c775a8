#pragma once
// What an SMTP client reads from a server (RFC 5321 §4.2): replies of one or more lines, and the
// extensions a server lists in its EHLO reply (§4.1.1.1). The outbound client's reading half.
//
// Pure (sans-I/O): the caller appends the bytes it reads to a buffer and asks the reader for
// the next reply; the reader takes a reply off the front of the buffer once its last line has
// arrived and leaves what follows (the replies to pipelined commands) for the next call.
//
// - A line ends at LF; the CRs just before it are dropped. Servers that end lines with a bare
//   LF are read too, as Postfix's client reads them.
// - Every line must begin with a reply code, three digits the first of which is 2 to 5
//   (RFC 5321 §4.2: Postfix's client checks digits only, but a code outside 2xx-5xx means
//   nothing to act on), followed by SP, '-' or the end of the line; anything else is
//   `malformed`. '-' marks a line that more lines follow.
// - A reply may hold at most max_bytes bytes and max_lines lines (`too_long`).
// - The code is the last line's: RFC 5321 has every line carry the same one, and the last is
//   the one a client acts on.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace postern::smtp {

struct ServerReply {
    int code = 0;                    // 0 until a reply is complete
    std::vector<std::string> lines;  // each line's text after "NNN-" or "NNN " (may be empty)

    // "550 5.1.1 user unknown": the code, then the text of each line that has some, joined by
    // spaces (for logs and diagnostics; it may hold any byte but LF).
    std::string text() const;
};

class ReplyReader {
 public:
    static constexpr std::size_t kMaxBytes = 64 * 1024;
    static constexpr std::size_t kMaxLines = 200;

    enum class Status { need_more, reply, malformed, too_long };

    explicit ReplyReader(std::size_t max_bytes = kMaxBytes, std::size_t max_lines = kMaxLines)
        : max_bytes_(max_bytes), max_lines_(max_lines) {}

    std::size_t max_bytes() const { return max_bytes_; }

    // Looks at the bytes of `in` it has not seen yet. On `reply`, `out` holds the reply and its
    // bytes are erased from the front of `in`. Between calls the caller may only append to
    // `in`. After `malformed` or `too_long` the stream cannot be read further: the reader must
    // be reset (and the connection given up).
    Status next(std::string& in, ServerReply& out);

    void reset();

 private:
    std::size_t max_bytes_, max_lines_;
    std::size_t scanned_ = 0;   // bytes of `in` that are complete lines of partial_
    std::size_t searched_ = 0;  // bytes of `in` known to hold no LF after scanned_
    ServerReply partial_;
};

// What a server offers, from its EHLO reply: the first word of each line after the first (which
// names the server) is an extension keyword, case-insensitive; the rest of the line its
// parameters.
struct Extensions {
    bool starttls = false, pipelining = false, size = false, eightbit = false, smtputf8 = false;
    std::uint64_t max_size = 0;  // "SIZE n" (RFC 1870): the largest message taken; 0: no limit
};

Extensions parse_ehlo(const ServerReply& reply);

}  // namespace postern::smtp
