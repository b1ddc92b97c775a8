// The outbound client's reply reader and EHLO parser (smtpd/proto/reply.hpp).
#include "smtpd/proto/reply.hpp"

#include <catch2/catch.hpp>
#include <string>

using postern::smtp::parse_ehlo;
using postern::smtp::ReplyReader;
using postern::smtp::ServerReply;
using Status = ReplyReader::Status;

namespace {

// Feeds `wire` to a reader one byte at a time, as a slow server would send it, and returns every
// reply and the status that ended the reading.
std::pair<std::vector<ServerReply>, Status> read_bytewise(const std::string& wire) {
    ReplyReader reader;
    std::string in;
    std::vector<ServerReply> out;
    Status last = Status::need_more;
    for (char c : wire) {
        in += c;
        ServerReply r;
        while ((last = reader.next(in, r)) == Status::reply) out.push_back(r);
        if (last != Status::need_more) break;
    }
    return {out, last};
}

}  // namespace

TEST_CASE("a one-line reply, and a multi-line one, are taken off the front of the buffer",
          "[reply]") {
    ReplyReader reader;
    ServerReply r;
    std::string in = "250 2.1.0 Ok\r\n";
    REQUIRE(reader.next(in, r) == Status::reply);
    CHECK(r.code == 250);
    CHECK(r.lines == std::vector<std::string>{"2.1.0 Ok"});
    CHECK(r.text() == "250 2.1.0 Ok");
    CHECK(in.empty());

    in = "250-mx.example.com Hello\r\n250-PIPELINING\r\n250 SIZE 1000\r\n354 go on\r\n";
    REQUIRE(reader.next(in, r) == Status::reply);
    CHECK(r.code == 250);
    CHECK(r.lines.size() == 3);
    CHECK(r.text() == "250 mx.example.com Hello PIPELINING SIZE 1000");
    CHECK(in == "354 go on\r\n");  // the next (pipelined) reply stays
    REQUIRE(reader.next(in, r) == Status::reply);
    CHECK(r.code == 354);
    CHECK(in.empty());
    CHECK(reader.next(in, r) == Status::need_more);
}

TEST_CASE("a reply that arrives a byte at a time reads the same as one read whole", "[reply]") {
    const std::string wire = "220 mx ready\r\n250-a\r\n250-b\r\n250 c\r\n550 5.1.1 no\r\n";
    auto [replies, status] = read_bytewise(wire);
    CHECK(status == Status::need_more);
    REQUIRE(replies.size() == 3);
    CHECK(replies[0].text() == "220 mx ready");
    CHECK(replies[1].lines == std::vector<std::string>{"a", "b", "c"});
    CHECK(replies[2].code == 550);
}

TEST_CASE("bare LF ends a reply line; a code alone or with an empty text is a line", "[reply]") {
    ReplyReader reader;
    ServerReply r;
    std::string in = "250-first\n250\n";
    REQUIRE(reader.next(in, r) == Status::reply);
    CHECK(r.lines == std::vector<std::string>{"first", ""});
    CHECK(r.text() == "250 first");
    in = "221 \r\n";
    REQUIRE(reader.next(in, r) == Status::reply);
    CHECK(r.code == 221);
    CHECK(r.text() == "221");
    in = "250 ok\r\r\n";  // every CR before the LF goes, as in Postfix's client
    REQUIRE(reader.next(in, r) == Status::reply);
    CHECK(r.lines == std::vector<std::string>{"ok"});
}

TEST_CASE("the last line's code is the reply's", "[reply]") {
    ReplyReader reader;
    ServerReply r;
    std::string in = "250-fine so far\r\n451 4.3.0 but not now\r\n";
    REQUIRE(reader.next(in, r) == Status::reply);
    CHECK(r.code == 451);
}

TEST_CASE("what is not a reply line is malformed", "[reply]") {
    for (std::string bad :
         {"hello\r\n", "25 short\r\n", "2x0 letters\r\n", "250x no separator\r\n", "\r\n",
          "250-ok\r\nnot a line\r\n", "+OK POP3 server ready\r\n",
          // Codes outside 2xx-5xx (RFC 5321 §4.2); 000 would read as "no reply" otherwise.
          "000 zero\r\n", "199 one\r\n", "600 six\r\n", "999 nine\r\n"}) {
        CAPTURE(bad);
        ReplyReader reader;
        ServerReply r;
        CHECK(reader.next(bad, r) == Status::malformed);
    }
}

TEST_CASE("a reply over the byte or line limit is too long, however it arrives", "[reply]") {
    {
        ReplyReader reader;
        ServerReply r;
        std::string in = "250 " + std::string(ReplyReader::kMaxBytes, 'x');  // no line end yet
        CHECK(reader.next(in, r) == Status::too_long);
    }
    {
        ReplyReader reader;
        ServerReply r;
        std::string in;
        for (std::size_t i = 0; i < ReplyReader::kMaxLines; ++i) in += "250-line\r\n";
        CHECK(reader.next(in, r) == Status::need_more);  // the limit, and no last line yet
        in += "250-line\r\n";
        CHECK(reader.next(in, r) == Status::too_long);
    }
    {
        std::string in;
        for (std::size_t i = 0; i + 1 < ReplyReader::kMaxLines; ++i) in += "250-line\r\n";
        in += "250 last\r\n";  // exactly the limit: read
        ReplyReader reader;
        ServerReply r;
        REQUIRE(reader.next(in, r) == Status::reply);
        CHECK(r.lines.size() == ReplyReader::kMaxLines);
    }
    {
        // Exactly max_bytes with its final LF is a reply; one byte more is too long.
        ReplyReader reader(16, 4);
        ServerReply r;
        std::string in = "250 " + std::string(10, 'x') + "\r\n";
        REQUIRE(in.size() == 16);
        CHECK(reader.next(in, r) == Status::reply);
        in = "250 " + std::string(11, 'x') + "\r\n";
        CHECK(reader.next(in, r) == Status::too_long);
        reader.reset();
        in = "250 " + std::string(12, 'x');  // 16 bytes, no line end: not over yet
        CHECK(reader.next(in, r) == Status::need_more);
        in += 'x';
        CHECK(reader.next(in, r) == Status::too_long);
    }
    {
        std::string wire;
        while (wire.size() <= ReplyReader::kMaxBytes)
            wire += "250-" + std::string(200, 'y') + "\r\n";
        auto [replies, status] = read_bytewise(wire);
        CHECK(replies.empty());
        CHECK(status == Status::too_long);
    }
}

TEST_CASE("EHLO extensions are the first word of each line after the greeting", "[reply]") {
    ServerReply r;
    r.code = 250;
    r.lines = {"mx.example.com greets you, and offers STARTTLS PIPELINING SMTPUTF8",
               "size 35882577", "8bitmime", "AUTH PLAIN STARTTLS", "X-PIPELINING"};
    auto ext = parse_ehlo(r);
    CHECK_FALSE(ext.starttls);  // named in the greeting and as an AUTH parameter only
    CHECK_FALSE(ext.pipelining);
    CHECK_FALSE(ext.smtputf8);
    CHECK(ext.size);
    CHECK(ext.max_size == 35882577);
    CHECK(ext.eightbit);

    r.lines = {"mx", "STARTTLS", "PIPELINING", "SMTPUTF8", "SIZE"};
    ext = parse_ehlo(r);
    CHECK(ext.starttls);
    CHECK(ext.pipelining);
    CHECK(ext.smtputf8);
    CHECK(ext.size);
    CHECK(ext.max_size == 0);  // no fixed limit

    r.lines = {"mx", "SIZE lots"};
    ext = parse_ehlo(r);
    CHECK(ext.size);
    CHECK(ext.max_size == 0);
    r.lines = {"mx.example.com"};  // a one-line EHLO reply offers nothing
    ext = parse_ehlo(r);
    CHECK_FALSE(ext.size);
    CHECK_FALSE(ext.pipelining);
}
