#pragma once
// Text helpers behind common/mime.hpp that need no GMime. mime_text.cpp: making bytes valid
// UTF-8, the whitespace-collapsed snippet, a rough HTML-to-text pass for snippets.
// mime_headers.cpp: msg-id extraction, a header fix-up for a GMime bug, the subject thread key.
// Private to postern_common; pure functions, any thread.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace postern::mime::detail {

inline char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// Whether s[pos..] starts with `word` (given in lowercase), ignoring ASCII case.
inline bool iequals_at(std::string_view s, std::size_t pos, std::string_view word) {
    if (pos > s.size() || s.size() - pos < word.size()) return false;
    for (std::size_t i = 0; i < word.size(); ++i)
        if (lower(s[pos + i]) != word[i]) return false;
    return true;
}

// Appends `in` to `out` as valid UTF-8. Valid UTF-8 is copied; any other byte is read as
// windows-1252 (the usual truth behind undeclared or mislabelled 8-bit mail), and NUL and the
// five bytes windows-1252 leaves undefined become U+FFFD. Streaming: a sequence cut at the end
// of one chunk is completed by the next; finish() flushes an unfinished one.
class Utf8Fixer {
 public:
    void put(std::string_view in, std::string& out);
    void finish(std::string& out);

 private:
    std::string tail_;  // at most 3 bytes: the start of a sequence cut by the chunk boundary
};

std::string to_utf8(std::string_view in);

// The first `max_chars` code points of the text fed in, whitespace runs (and control characters)
// collapsed to one space, zero-width format characters dropped, no leading or trailing space.
// Input must be valid UTF-8 (pass it through Utf8Fixer first).
class SnippetBuilder {
 public:
    explicit SnippetBuilder(std::size_t max_chars) : max_chars_(max_chars) {}
    void feed(std::string_view utf8);
    bool full() const { return chars_ >= max_chars_; }
    const std::string& text() const { return out_; }
    std::string take() { return std::move(out_); }

 private:
    std::size_t max_chars_;
    std::size_t chars_ = 0;
    bool pending_space_ = false;
    std::string out_;
};

// Visible text of an HTML document, roughly: tags dropped (block tags become a line break), the
// contents of <head>, <script>, <style> and comments dropped, character references decoded.
// Meant for snippets, not rendering. Input valid UTF-8; output valid UTF-8.
std::string html_to_text(std::string_view html);

// The longest prefix of valid UTF-8 `s` within `max_bytes` that does not split a sequence.
std::string_view utf8_prefix(std::string_view s, std::size_t max_bytes);

// The msg-ids of a header value such as References, without brackets: every <...> token, or the
// whole value when it is one bare token containing '@'. A fallback for values GMime rejects.
std::vector<std::string> loose_msg_ids(std::string_view value);

// GMime 3.2.13 (Debian bookworm) joins adjacent base64 encoded-words of one charset before
// decoding them and stops at the first padding '=', losing the rest of the text (gmime issue
// #133; Gmail and Outlook split long subjects and names this way). Returns the message with each
// such run in the top-level header block re-encoded as one word, or nullopt when there is none.
std::optional<std::string> merge_split_b_words(std::string_view raw);

std::string normalize_subject(std::string_view subject);

}  // namespace postern::mime::detail
