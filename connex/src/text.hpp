#pragma once
// Text preparation for the classifier: strip quoted replies and signatures, case-fold, and split
// into tokens that carry a class (number, money, time, weekday, e-mail, …) so that feature
// patterns can say "would you take @num". Private to postern_connex.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace postern::connex::text {

enum TokenClass : std::uint16_t {
    kWord = 0,
    kNum = 1u << 0,
    kMoney = 1u << 1,
    kTime = 1u << 2,
    kWeekday = 1u << 3,
    kMonth = 1u << 4,
    kRelDay = 1u << 5,
    kEmail = 1u << 6,
    kUrl = 1u << 7,
    kDsn = 1u << 8,  // an RFC 3463 enhanced status code such as 5.1.1
    kQuarter = 1u << 9,
    kBoundary = 1u << 15,  // sentence or paragraph end; phrases never cross it
};

struct Token {
    std::uint32_t off = 0;
    std::uint16_t len = 0;
    std::uint16_t cls = kWord;
};

// The prepared message. Tokens are offsets into `buf`, so a Tokens value may be moved freely.
struct Tokens {
    std::string buf;
    std::vector<Token> toks;
    std::size_t body_begin = 0;  // toks[0, body_begin) come from the subject
    int question_marks = 0;      // in the reply text, after stripping
    int shouting_words = 0;      // words of 4+ letters written in capitals
    bool reply_subject = false;  // the subject starts with Re:/Fwd:/…
    bool truncated = false;      // the reply text was longer than the scan limit

    std::string_view text(std::size_t i) const {
        return std::string_view(buf).substr(toks[i].off, toks[i].len);
    }
    bool boundary(std::size_t i) const { return (toks[i].cls & kBoundary) != 0; }
};

inline constexpr std::size_t kMaxScanBytes = 16 * 1024;

// The author's own text of a reply: drops '>' lines, cuts at "On … wrote:", Outlook header
// blocks and "-----Original Message-----", at a "-- " signature, and "Sent from my …" lines.
// Stops after `max_bytes` (sets *truncated).
std::string strip_reply(std::string_view body, std::size_t max_bytes, bool* truncated);

// Tokenizes the subject and the already stripped body into `out` (which is reset).
void tokenize(std::string_view subject, std::string_view stripped_body, Tokens& out);

// Words with a class of their own (weekdays, months, today/tomorrow, q1-q4). The classifier's
// lexicon applies them; tokenize() itself only marks numbers, times, e-mail and URLs.
struct ClassWord {
    std::string_view word;
    std::uint16_t cls;
};
std::span<const ClassWord> class_words();

// ASCII case-insensitive helpers shared by the engine.
bool iequals(std::string_view a, std::string_view b);
bool icontains(std::string_view hay, std::string_view needle);

}  // namespace postern::connex::text
