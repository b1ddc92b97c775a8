#include "apid/serialize.hpp"

#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

using namespace postern::api;
namespace json = boost::json;

TEST_CASE("utf8_clean keeps valid UTF-8 and replaces the rest", "[apid][serialize]") {
    CHECK(utf8_clean("plain") == "plain");
    CHECK(utf8_clean("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x93\xA7") ==
          "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x93\xA7");
    CHECK(utf8_clean("caf\xE9") == "caf\xEF\xBF\xBD");                            // Latin-1 byte
    CHECK(utf8_clean("\xC0\xAF") == "\xEF\xBF\xBD\xEF\xBF\xBD");                  // overlong '/'
    CHECK(utf8_clean("\xED\xA0\x80") == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
    CHECK(utf8_clean("\xE2\x82") == "\xEF\xBF\xBD\xEF\xBF\xBD");                  // truncated
    CHECK(utf8_clean(std::string("a\0b", 3)) == std::string("a\0b", 3));
}

namespace {
postern::storage::MessageRow row() {
    postern::storage::MessageRow r;
    r.id = "msg_1";
    r.thread_id = "thr_1";
    r.mailbox_id = "mbx_1";
    r.from_json =
        R"([{"name":"Ann","address":"ann@x.example"},{"name":"","address":"b@x.example"}])";
    r.to_json = R"([{"name":"","address":"alice@example.com"}])";
    r.cc_json = "[]";
    r.subject = "Hi \xE9";
    r.date = 1795334626000;
    r.received_at = 1795334627000;
    r.size = 123;
    r.snippet = "hello";
    r.has_attachments = true;
    r.flags_json = R"(["seen"])";
    r.message_id_hdr = "abc@x.example";
    r.references_hdr = "r1@x r2@x";
    return r;
}
}  // namespace

TEST_CASE("message list item fields", "[apid][serialize]") {
    json::object o = message_item_json(row());
    CHECK(o.at("id").as_string() == "msg_1");
    CHECK(o.at("thread_id").as_string() == "thr_1");
    CHECK(o.at("mailbox_id").as_string() == "mbx_1");
    CHECK(o.at("from").at("name").as_string() == "Ann");
    CHECK(o.at("from").at("address").as_string() == "ann@x.example");
    REQUIRE(o.at("to").as_array().size() == 1);
    CHECK(o.at("to").as_array()[0].at("name").is_null());
    CHECK(o.at("cc").as_array().empty());
    CHECK(o.at("subject").as_string() == "Hi \xEF\xBF\xBD");
    CHECK(o.at("date").as_string() == "2026-11-22T08:03:46Z");
    CHECK(o.at("received_at").as_string() == "2026-11-22T08:03:47Z");
    CHECK(o.at("size").as_int64() == 123);
    CHECK(o.at("has_attachments").as_bool());
    CHECK(o.at("flags").as_array().size() == 1);
    CHECK(o.size() == 14);                    // exactly the documented fields
    CHECK(o.at("authentication").is_null());  // not checked
}

TEST_CASE("message item tolerates missing or broken stored JSON", "[apid][serialize]") {
    auto r = row();
    r.from_json = "[]";
    r.to_json = "not json";
    r.flags_json = "";
    r.date.reset();
    json::object o = message_item_json(r);
    CHECK(o.at("from").is_null());
    CHECK(o.at("to").as_array().empty());
    CHECK(o.at("flags").as_array().empty());
    CHECK(o.at("date").is_null());
}

TEST_CASE("message detail adds headers, bodies and attachments", "[apid][serialize]") {
    postern::mime::Parsed p;
    p.summary.reply_to = {{"", "reply@x.example"}};
    p.headers = {{"Subject", "Hi"}, {"X-Test", "1"}};
    p.text = "body";
    p.attachments.push_back({0, "a.pdf", "application/pdf", "cid1", false, 10});
    json::object o = message_detail_json(row(), p);
    CHECK(o.at("message_id").as_string() == "abc@x.example");
    CHECK(o.at("in_reply_to").is_null());
    CHECK(o.at("references").as_array().size() == 2);
    CHECK(o.at("reply_to").as_array()[0].at("address").as_string() == "reply@x.example");
    CHECK(o.at("headers").as_array()[1].at("name").as_string() == "X-Test");
    CHECK(o.at("text").as_string() == "body");
    CHECK(o.at("html").is_null());
    auto& a = o.at("attachments").as_array()[0].as_object();
    CHECK(a.at("index").to_number<int>() == 0);
    CHECK(a.at("filename").as_string() == "a.pdf");
    CHECK(a.at("content_type").as_string() == "application/pdf");
    CHECK(a.at("size").to_number<int>() == 10);
    CHECK(a.at("content_id").as_string() == "cid1");
    CHECK(a.at("inline").as_bool() == false);
}

TEST_CASE("thread and list shapes", "[apid][serialize]") {
    postern::storage::ThreadRow t;
    t.id = "thr_1";
    t.mailbox_id = "mbx_1";
    t.subject = "S";
    t.message_count = 2;
    t.last_message_id = "msg_2";
    t.created_at = 0;
    t.updated_at = 1000;
    t.participants_json = R"(["a@x","b@x"])";
    json::object o = thread_json(t);
    CHECK(o.at("participants").as_array().size() == 2);
    CHECK(o.at("created_at").as_string() == "1970-01-01T00:00:00Z");
    CHECK(o.at("message_count").as_int64() == 2);
    json::object l = list_json(json::array{1, 2}, std::nullopt);
    CHECK(json::serialize(l) == R"({"data":[1,2],"next_cursor":null})");
    CHECK(list_json({}, "c1").at("next_cursor").as_string() == "c1");
}

TEST_CASE("Content-Disposition follows RFC 6266 and RFC 5987", "[apid][serialize]") {
    CHECK(content_disposition("") == "attachment");
    CHECK(content_disposition("report.pdf") ==
          "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf");
    CHECK(content_disposition("r\xC3\xA9sum\xC3\xA9 2024.pdf") ==
          "attachment; filename=\"r_sum_ 2024.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9%202024.pdf");
    CHECK(content_disposition("a\"b\\c/d;e.txt") ==
          "attachment; filename=\"a_b_c_d;e.txt\"; filename*=UTF-8''a%22b%5Cc%2Fd%3Be.txt");
    CHECK(content_disposition("x\r\ny") ==
          "attachment; filename=\"x__y\"; filename*=UTF-8''x%0D%0Ay");
}

TEST_CASE("safe_media_type refuses anything but type/subtype", "[apid][serialize]") {
    CHECK(safe_media_type("image/png") == "image/png");
    CHECK(safe_media_type("application/vnd.ms-excel") == "application/vnd.ms-excel");
    CHECK(safe_media_type("text/html\r\nX: y") == "application/octet-stream");
    CHECK(safe_media_type("text") == "application/octet-stream");
    CHECK(safe_media_type("") == "application/octet-stream");
    CHECK(safe_media_type("text/plain; charset=utf-8") == "application/octet-stream");
    // A text type keeps a well-formed charset; others, and malformed charsets, do not.
    CHECK(safe_media_type("text/html", "iso-8859-1") == "text/html; charset=iso-8859-1");
    CHECK(safe_media_type("text/plain", "") == "text/plain");
    CHECK(safe_media_type("text/plain", "utf-8\r\nX: y") == "text/plain");
    CHECK(safe_media_type("text/plain", "a b") == "text/plain");
    CHECK(safe_media_type("image/png", "utf-8") == "image/png");
}
