// The DATA reader: dot-unstuffing, the end marker, bare CR/LF, line and size limits. Every input
// is also fed split at every possible point, and byte by byte.
#include "smtpd/proto/data_reader.hpp"

#include <catch2/catch.hpp>
#include <ostream>

using postern::smtp::DataReader;

namespace {

struct Outcome {
    std::size_t used = 0;
    bool done = false, ok = false, too_big = false, too_long = false, bare = false;
    std::string out;
    bool operator==(const Outcome&) const = default;
    friend std::ostream& operator<<(std::ostream& os, const Outcome& o) {
        return os << "{used " << o.used << " done " << o.done << " ok " << o.ok << " big "
                  << o.too_big << " long " << o.too_long << " bare " << o.bare << " out "
                  << o.out.size() << "}";
    }
};

Outcome read_in_pieces(std::string_view in, std::uint64_t max, std::vector<std::size_t> cuts) {
    DataReader r(max);
    Outcome o;
    std::size_t pos = 0;
    cuts.push_back(in.size());
    for (std::size_t cut : cuts) {
        if (r.done()) break;
        std::size_t n = r.feed(in.substr(pos, cut - pos), o.out);
        o.used += n;
        pos += n;
        if (pos < cut) break;  // stopped at the end of data
    }
    o.done = r.done();
    o.ok = r.ok();
    o.too_big = r.too_big();
    o.too_long = r.line_too_long();
    o.bare = r.bare_line_ending();
    return o;
}

struct Row {
    const char* name;
    std::string in;
    std::string out;   // the message, when ok
    std::size_t used;  // bytes consumed (npos: all)
    bool done, ok, too_big, too_long, bare;
};

std::vector<Row> rows() {
    const auto all = std::string::npos;
    std::string long_line(999, 'x');
    return {
        {"empty message", ".\r\n", "", all, true, true, false, false, false},
        {"one line", "hello\r\n.\r\n", "hello\r\n", all, true, true, false, false, false},
        {"rest after the end is not consumed", "a\r\n.\r\nQUIT\r\n", "a\r\n", 6, true, true, false,
         false, false},
        {"dot-stuffing removed", "..a\r\n...\r\n. \r\n.\r\n", ".a\r\n..\r\n \r\n", all, true, true,
         false, false, false},
        {"dot inside a line kept", "a.b\r\n a\r\n.\r\n", "a.b\r\n a\r\n", all, true, true, false,
         false, false},
        {"incomplete: no final dot", "a\r\nb\r\n", "a\r\nb\r\n", all, false, true, false, false,
         false},
        {"incomplete: dot without LF", "a\r\n.\r", "a\r\n", all, false, true, false, false, false},
        {"bare LF", "a\nb\r\n.\r\n", "", all, true, false, false, false, true},
        {"bare CR", "a\rb\r\n.\r\n", "", all, true, false, false, false, true},
        {"LF.LF is not the end", "a\n.\nb\r\n.\r\n", "", all, true, false, false, false, true},
        {"CRLF.LF is not the end", "a\r\n.\nb\r\n.\r\n", "", all, true, false, false, false, true},
        {"LF.CRLF is not the end", "a\n.\r\nb\r\n.\r\n", "", all, true, false, false, false, true},
        {"CR.CR is not the end", "a\r.\rb\r\n.\r\n", "", all, true, false, false, false, true},
        {"CRLF.CR then data", "a\r\n.\rb\r\n.\r\n", "", all, true, false, false, false, true},
        {"998 octets is fine", std::string(998, 'x') + "\r\n.\r\n", std::string(998, 'x') + "\r\n",
         all, true, true, false, false, false},
        {"999 octets is too long", long_line + "\r\n.\r\n", "", all, true, false, false, true,
         false},
        {"998 after a stuffed dot is fine: the dot is not counted",
         "." + std::string(998, 'x') + "\r\n.\r\n", std::string(998, 'x') + "\r\n", all, true, true,
         false, false, false},
        {"999 after a stuffed dot is too long", "." + std::string(999, 'x') + "\r\n.\r\n", "", all,
         true, false, false, true, false},
        {"size limit exact", std::string(18, 'y') + "\r\n.\r\n", std::string(18, 'y') + "\r\n", all,
         true, true, false, false, false},
        {"size limit exceeded", std::string(19, 'y') + "\r\n.\r\n", "", all, true, false, true,
         false, false},
        {"size limit exceeded over many lines", "aaaa\r\nbbbb\r\ncccc\r\ndddd\r\n.\r\n", "", all,
         true, false, true, false, false},
        {"8-bit and NUL pass through", std::string("\xc3\xa9\0z\r\n.\r\n", 9),
         std::string("\xc3\xa9\0z\r\n", 6), all, true, true, false, false, false},
    };
}

}  // namespace

TEST_CASE("data reader: table fed whole and split at every point") {
    for (const Row& row : rows()) {
        CAPTURE(row.name);
        Outcome want;
        want.used = row.used == std::string::npos ? row.in.size() : row.used;
        want.done = row.done;
        want.ok = row.ok;
        want.too_big = row.too_big;
        want.too_long = row.too_long;
        want.bare = row.bare;
        want.out = row.ok ? row.out : "";
        // Long-line rows get room for their size; the others test the limit of 20.
        const std::uint64_t max = row.in.size() > 900 ? 2020 : 20;
        CHECK(read_in_pieces(row.in, max, {}) == want);
        for (std::size_t cut = 0; cut <= row.in.size(); ++cut) {
            CAPTURE(cut);
            CHECK(read_in_pieces(row.in, max, {cut}) == want);
        }
        std::vector<std::size_t> bytes;
        for (std::size_t i = 1; i < row.in.size(); ++i) bytes.push_back(i);
        CHECK(read_in_pieces(row.in, max, bytes) == want);
    }
}

TEST_CASE("data reader: a refused message keeps no memory") {
    DataReader r(10);
    std::string out;
    std::string big;
    for (int i = 0; i < 10000; ++i) big += std::string(98, 'z') + "\r\n";
    CHECK(r.feed(big, out) == big.size());
    CHECK(r.too_big());
    CHECK(out.empty());
    CHECK(out.capacity() < 64);
    CHECK(r.feed("\r\n.\r\n", out) == 5);
    CHECK(r.done());
}

TEST_CASE("data reader: reset starts a new message") {
    DataReader r(100);
    std::string out;
    r.feed("a\nb\r\n.\r\n", out);
    CHECK(r.done());
    CHECK_FALSE(r.ok());
    r.reset(100);
    out.clear();
    CHECK(r.feed("ok\r\n.\r\n", out) == 7);
    CHECK(r.ok());
    CHECK(out == "ok\r\n");
}
