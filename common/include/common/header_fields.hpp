#pragma once
// The fields of an RFC 5322 header section, as written: where each is, its name and its raw
// value. One reader for everything that walks a header section field by field (mail
// authentication in smtpd, DKIM signing, `postern send`); GMime serves the readers that want
// decoded values.
//
// The message uses CRLF line ends. The header section ends at the first empty line, or with the
// message. Lines that are neither a field nor a continuation are skipped, not taken as the end:
// a field after such a line still counts, so that a forged Authentication-Results cannot hide
// behind a broken line from us while a lenient reader later shows it. Pure; thread-safe.
#include <cstddef>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace postern::mime {

struct HeaderField {
    std::string_view name;   // as written, blanks before the colon removed
    std::string_view value;  // after the colon, folding kept, without the final CRLF
    std::size_t begin = 0;   // offsets in the message: [begin, end) includes the final CRLF
    std::size_t end = 0;
};

// Calls `visit` with every field of the header section, in order; views into `message`. Keeps
// nothing, so a header section of millions of tiny fields costs no memory.
void for_each_header_field(std::string_view message,
                           const std::function<void(const HeaderField&)>& visit);
// The same, collected.
std::vector<HeaderField> header_fields(std::string_view message);

// The field as written, without its final CRLF (folds kept): name, colon and value.
inline std::string_view raw_field(std::string_view message, const HeaderField& f) {
    std::string_view raw = message.substr(f.begin, f.end - f.begin);
    if (raw.ends_with("\r\n")) raw.remove_suffix(2);
    return raw;
}

// The 1-based number of the first line of the header section that is neither a field
// ("Name: value", the name printable ASCII without a colon, RFC 5322 §2.2) nor the continuation
// of one; 0 when every line is one of the two. For what we write ourselves (`postern send`):
// input whose body ended up in its header section.
std::size_t first_malformed_header_line(std::string_view message);

// Where the header section of `message` (CRLF line ends) ends: the offset of the empty line that
// ends it (0 when the message starts with one), or npos when it has none.
inline std::size_t header_section_end(std::string_view message) {
    return message.starts_with("\r\n") ? 0 : message.find("\r\n\r\n");
}

// The value with folding removed (CRLF before a blank dropped, RFC 5322 §2.2.3).
std::string unfold(std::string_view value);

// `message` without the header fields whose names are in `names` (compared case-insensitively);
// everything else byte for byte.
std::string without_fields(std::string_view message, std::initializer_list<std::string_view> names);

// Removes from `message`, in one pass, the header fields `drop` picks; everything else byte for
// byte. The message is rewritten only when something is removed (the usual case copies
// nothing). Returns how many fields were.
std::size_t erase_fields_if(std::string& message,
                            const std::function<bool(const HeaderField&)>& drop);

}  // namespace postern::mime
