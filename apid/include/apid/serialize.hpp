#pragma once
// JSON views of storage rows and parsed messages (Boost.JSON), field names as in docs/api.md.
// Text from mail is made valid UTF-8 here (invalid sequences become U+FFFD), so a malformed
// message can never make a response body invalid JSON. Timestamps are RFC 3339 UTC. Pure;
// thread-safe.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/mime.hpp"
#include "storage/models.hpp"

namespace postern::api {

// `text` with every invalid UTF-8 sequence replaced by U+FFFD.
std::string utf8_clean(std::string_view text);

boost::json::value timestamp_or_null(const std::optional<std::int64_t>& unix_ms);

// {"id","address","created_at"}
boost::json::object mailbox_json(const storage::Mailbox& m);

// The message list item: id, thread_id, mailbox_id, from, to, cc, subject, date, received_at,
// size, snippet, has_attachments, flags ("junk" when DMARC quarantined it), authentication.
boost::json::object message_item_json(const storage::MessageRow& row);

// The item plus message_id, in_reply_to, references, reply_to, headers, text, html, attachments.
boost::json::object message_detail_json(const storage::MessageRow& row, const mime::Parsed& parsed);

boost::json::object attachment_json(const mime::Attachment& a);

// id, mailbox_id, subject, message_count, participants, created_at, updated_at, last_message_id.
boost::json::object thread_json(const storage::ThreadRow& row);

// {"data": [...], "next_cursor": "…" | null}
boost::json::object list_json(boost::json::array data,
                              const std::optional<std::string>& next_cursor);

// `Content-Disposition: attachment` with an ASCII `filename` fallback and the exact name as
// RFC 5987 `filename*=UTF-8''…` (RFC 6266 §4.3); just "attachment" when `filename` is empty.
std::string content_disposition(std::string_view filename);

// `content_type` when it is a well-formed "type/subtype", else application/octet-stream. A text
// type keeps a well-formed `charset` ("; charset=…"), without which a client cannot read it
// (RFC 2046 §4.1.2).
std::string safe_media_type(std::string_view content_type, std::string_view charset = {});

}  // namespace postern::api
