// Fuzz target: the outbound client's reply reader and EHLO parser (smtpd/proto/reply.hpp), on
// what a server sends. The first byte picks the chunk size the bytes arrive in, and whether the
// reader keeps its own limits (64 KiB, 200 lines) or small ones (from the second byte) that
// short inputs reach; the rest is the server's side of a conversation.
// Invariants checked:
// - read in chunks, the replies and the status the reading ends in equal those of a plain
//   whole-input reading of RFC 5321 §4.2 (reference() below), with the same limits;
// - each reply has 1..max_lines lines, none holding an LF, and a code in 200..599; its
//   bytes are taken off the front of the buffer and what follows is left as it came;
// - its text() begins with that code and holds no LF;
// - parse_ehlo never gives a SIZE limit without SIZE.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "invariant.hpp"
#include "smtpd/proto/reply.hpp"

using postern::smtp::parse_ehlo;
using postern::smtp::ReplyReader;
using postern::smtp::ServerReply;
using Status = ReplyReader::Status;

namespace {

struct Reading {
    std::vector<ServerReply> replies;
    Status end = Status::need_more;
};

bool same(const Reading& a, const Reading& b) {
    if (a.end != b.end || a.replies.size() != b.replies.size()) return false;
    for (std::size_t i = 0; i < a.replies.size(); ++i)
        if (a.replies[i].code != b.replies[i].code || a.replies[i].lines != b.replies[i].lines)
            return false;
    return true;
}

Reading reference(std::string_view in, std::size_t max_bytes, std::size_t max_lines) {
    Reading o;
    std::size_t start = 0, pos = 0;
    ServerReply cur;
    for (;;) {
        const auto lf = in.find('\n', pos);
        if (lf == std::string_view::npos) {
            o.end = in.size() - start > max_bytes ? Status::too_long : Status::need_more;
            return o;
        }
        if (lf + 1 - start > max_bytes) {
            o.end = Status::too_long;
            return o;
        }
        std::string_view line = in.substr(pos, lf - pos);
        while (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        auto digit = [](char c) { return c >= '0' && c <= '9'; };
        const bool digits = line.size() >= 3 && line[0] >= '2' && line[0] <= '5' &&
                            digit(line[1]) && digit(line[2]);
        if (!digits || (line.size() > 3 && line[3] != ' ' && line[3] != '-')) {
            o.end = Status::malformed;
            return o;
        }
        if (cur.lines.size() == max_lines) {
            o.end = Status::too_long;
            return o;
        }
        cur.code = std::stoi(std::string(line.substr(0, 3)));
        cur.lines.emplace_back(line.size() > 4 ? line.substr(4) : std::string_view());
        pos = lf + 1;
        if (line.size() == 3 || line[3] == ' ') {
            o.replies.push_back(std::move(cur));
            cur = ServerReply{};
            start = pos;
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    const std::size_t chunk = 1 + data[0] % 97;
    const bool small = data[0] & 0x80;
    const std::size_t max_bytes = small ? 8 + data[1] % 200 : ReplyReader::kMaxBytes;
    const std::size_t max_lines = small ? 1 + data[1] % 7 : ReplyReader::kMaxLines;
    const std::string_view wire(reinterpret_cast<const char*>(data) + 2, size - 2);

    Reading got;
    ReplyReader reader(max_bytes, max_lines);
    std::string in;
    std::size_t fed = 0, taken = 0;  // bytes appended to `in`, bytes taken off it as replies
    bool stopped = false;
    while (!stopped && fed < wire.size()) {
        const std::size_t n = std::min(chunk, wire.size() - fed);
        in.append(wire.substr(fed, n));
        fed += n;
        for (;;) {
            const std::size_t before = in.size();
            ServerReply r;
            got.end = reader.next(in, r);
            if (got.end != Status::reply) {
                FUZZ_CHECK(in.size() == before);  // nothing taken without a reply
                stopped = got.end != Status::need_more;
                break;
            }
            FUZZ_CHECK(in.size() < before);
            taken += before - in.size();
            FUZZ_CHECK(before - in.size() <= max_bytes);
            FUZZ_CHECK(in == wire.substr(taken, fed - taken));  // the rest left as it came
            FUZZ_CHECK(!r.lines.empty() && r.lines.size() <= max_lines);
            FUZZ_CHECK(r.code >= 200 && r.code <= 599);
            for (const auto& line : r.lines) FUZZ_CHECK(line.find('\n') == std::string::npos);
            const std::string text = r.text();
            FUZZ_CHECK(text.size() >= 3 && std::stoi(text.substr(0, 3)) == r.code);
            FUZZ_CHECK(text.find('\n') == std::string::npos);
            const auto ext = parse_ehlo(r);
            FUZZ_CHECK(ext.max_size == 0 || ext.size);
            got.replies.push_back(std::move(r));
        }
    }
    FUZZ_CHECK(same(got, reference(wire, max_bytes, max_lines)));
    return 0;
}
