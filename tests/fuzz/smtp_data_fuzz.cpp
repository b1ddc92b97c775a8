// Fuzz target: the DATA reader (dot-unstuffing, end of data, bare CR/LF, limits).
// The first two bytes pick a split point; the rest is DATA as a client sends it.
// Invariants checked:
// - feeding in two pieces gives exactly what feeding at once gives (state across chunks);
// - the end of data, the message and the verdict equal those of a plain whole-input reading of
//   RFC 5321 §4.5.2 (reference() below; the line limit leaves out a stuffed dot, §4.5.3.1.6):
//   nothing lost, nothing smuggled past the end;
// - a refused message left no bytes behind;
// - the same bytes taken as BDAT chunks (feed_chunk, split at the same point, then
//   finish_chunks) give the same result as taken whole, and equal a plain reading: accepted
//   exactly when there is no bare CR or LF, no line over 998 octets and the size fits, and then
//   the message is the input itself (plus a CRLF when its last line has none).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "invariant.hpp"
#include "smtpd/proto/data_reader.hpp"

using postern::smtp::DataReader;

namespace {

struct Run {
    std::size_t used = 0;
    std::string out;
    bool done = false, ok = false, big = false, line = false, bare = false;
};

Run run(std::string_view in, std::size_t cut, std::uint64_t max) {
    DataReader r(max);
    Run o;
    cut = cut > in.size() ? in.size() : cut;
    o.used = r.feed(in.substr(0, cut), o.out);
    if (!r.done()) o.used += r.feed(in.substr(cut), o.out);
    o.done = r.done();
    o.ok = r.ok();
    o.big = r.too_big();
    o.line = r.line_too_long();
    o.bare = r.bare_line_ending();
    return o;
}

// A plain, whole-input reading of RFC 5321 §4.5.2, to compare the streaming reader against.
Run reference(std::string_view in, std::uint64_t max) {
    Run o;
    std::string framed = "\r\n" + std::string(in);
    std::size_t end = framed.find("\r\n.\r\n");
    std::string_view region = in;
    if (end != std::string::npos) {
        o.done = true;
        o.used = end + 5 - 2;
        region = in.substr(0, o.used);
    } else {
        o.used = in.size();
    }
    for (std::size_t i = 0; i < region.size(); ++i) {
        if (region[i] == '\r' && (i + 1 == region.size() ? o.done : region[i + 1] != '\n'))
            o.bare = true;
        if (region[i] == '\n' && (i == 0 || region[i - 1] != '\r')) o.bare = true;
    }
    // The message lines: everything before the final ".\r\n", split at CRLF.
    std::string_view body = o.done ? region.substr(0, o.used - 3) : region;
    std::string out;
    std::size_t pos = 0;
    while (pos < body.size()) {
        std::size_t eol = body.find("\r\n", pos);
        std::string_view line =
            body.substr(pos, eol == std::string_view::npos ? body.size() - pos : eol - pos);
        if (!line.empty() && line.front() == '.') line.remove_prefix(1);
        if (line.size() > DataReader::kMaxLine) o.line = true;  // the stuffed dot not counted
        out += line;
        if (eol == std::string_view::npos) break;
        out += "\r\n";
        pos = eol + 2;
    }
    o.big = !o.bare && !o.line && out.size() > max;
    o.ok = !o.bare && !o.line && !o.big;
    if (o.ok) o.out = std::move(out);
    return o;
}

Run chunks(std::string_view in, std::size_t cut, std::uint64_t max) {
    DataReader r(max);
    Run o;
    cut = cut > in.size() ? in.size() : cut;
    r.feed_chunk(in.substr(0, cut), o.out);
    r.feed_chunk(in.substr(cut), o.out);
    r.finish_chunks(o.out);
    o.done = r.done();
    o.ok = r.ok();
    o.big = r.too_big();
    o.line = r.line_too_long();
    o.bare = r.bare_line_ending();
    return o;
}

void check_chunks(std::string_view in, std::size_t cut, std::uint64_t max) {
    Run whole = chunks(in, in.size(), max);
    Run split = chunks(in, cut, max);
    FUZZ_CHECK(whole.out == split.out && whole.ok == split.ok && whole.big == split.big &&
               whole.line == split.line && whole.bare == split.bare && whole.done && split.done);
    bool bare = false, line = false;
    std::size_t len = 0;
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (in[i] == '\r' && (i + 1 == in.size() || in[i + 1] != '\n')) bare = true;
        if (in[i] == '\n' && (i == 0 || in[i - 1] != '\r')) bare = true;
        if (in[i] == '\r' || in[i] == '\n') {
            len = 0;
        } else if (++len > DataReader::kMaxLine) {
            line = true;
        }
    }
    std::string want(in);
    if (!want.empty() && !(want.size() >= 2 && want.compare(want.size() - 2, 2, "\r\n") == 0) &&
        want.back() != '\r')
        want += "\r\n";
    const bool ok = !bare && !line && want.size() <= max;
    FUZZ_CHECK(whole.ok == ok);
    FUZZ_CHECK(whole.bare == bare);
    if (ok) FUZZ_CHECK(whole.out == want);
    if (!ok) FUZZ_CHECK(whole.out.empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    const std::size_t cut = static_cast<std::size_t>(data[0]) << 8 | data[1];
    std::string_view in(reinterpret_cast<const char*>(data) + 2, size - 2);
    const std::uint64_t max = 2048;

    check_chunks(in, cut, max);
    Run whole = run(in, in.size(), max);
    Run split = run(in, cut, max);
    FUZZ_CHECK(whole.used == split.used && whole.out == split.out && whole.done == split.done &&
               whole.ok == split.ok && whole.big == split.big && whole.line == split.line &&
               whole.bare == split.bare);
    FUZZ_CHECK(whole.used <= in.size());
    if (!whole.ok) FUZZ_CHECK(whole.out.empty());
    Run want = reference(in, max);
    FUZZ_CHECK(whole.done == want.done);
    // Before the end a verdict may still be pending (a last CR, a partial line): judge at the end.
    if (!whole.done) {
        FUZZ_CHECK(whole.used == in.size());
        return 0;
    }
    FUZZ_CHECK(whole.used == want.used);
    FUZZ_CHECK(whole.ok == want.ok);
    FUZZ_CHECK(whole.out == want.out);
    FUZZ_CHECK(whole.bare == want.bare);
    if (!want.bare) FUZZ_CHECK(whole.line == want.line);
    if (!want.bare && !want.line) FUZZ_CHECK(whole.big == want.big);
    FUZZ_CHECK(whole.out.size() <= max);
    return 0;
}
