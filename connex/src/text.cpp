#include "text.hpp"

#include <algorithm>
#include <array>

namespace postern::connex::text {
namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return is_alpha(c) || is_digit(c); }
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

std::string_view trim(std::string_view s) {
    while (!s.empty() && (is_space(s.front()) || s.front() == '\n')) s.remove_prefix(1);
    while (!s.empty() && (is_space(s.back()) || s.back() == '\n')) s.remove_suffix(1);
    return s;
}

bool istarts(std::string_view s, std::string_view p) {
    return s.size() >= p.size() && iequals(s.substr(0, p.size()), p);
}
bool iends(std::string_view s, std::string_view p) {
    return s.size() >= p.size() && iequals(s.substr(s.size() - p.size()), p);
}

// Splits `body` into lines without the trailing "\r\n".
std::vector<std::string_view> lines_of(std::string_view body) {
    std::vector<std::string_view> out;
    std::size_t pos = 0;
    while (pos <= body.size()) {
        auto eol = body.find('\n', pos);
        if (eol == std::string_view::npos) eol = body.size();
        auto line = body.substr(pos, eol - pos);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        out.push_back(line);
        pos = eol + 1;
    }
    return out;
}

bool only_char(std::string_view s, char c, std::size_t min) {
    return s.size() >= min && std::all_of(s.begin(), s.end(), [c](char x) { return x == c; });
}

// True when line i starts a quoted reply header ("On Tue, … wrote:", Outlook "From:/Sent:").
bool is_cut_line(const std::vector<std::string_view>& lines, std::size_t i, bool in_forward) {
    auto t = trim(lines[i]);
    if (t == "--" || only_char(t, '_', 10)) return true;
    if (iends(t, "wrote:")) return true;
    if (t.starts_with('-') && icontains(t, "original message")) return true;
    if (istarts(t, "on ") && i + 1 < lines.size() && iends(trim(lines[i + 1]), "wrote:"))
        return true;
    if (!in_forward && istarts(t, "from:")) {
        for (std::size_t j = i + 1; j < lines.size() && j <= i + 4; ++j) {
            auto n = trim(lines[j]);
            if (istarts(n, "sent:") || istarts(n, "date:")) return true;
        }
    }
    return false;
}

constexpr ClassWord kClassWords[] = {
    {"monday", kWeekday}, {"tuesday", kWeekday},  {"wednesday", kWeekday}, {"thursday", kWeekday},
    {"friday", kWeekday}, {"saturday", kWeekday}, {"sunday", kWeekday},    {"mon", kWeekday},
    {"tue", kWeekday},    {"tues", kWeekday},     {"wed", kWeekday},       {"weds", kWeekday},
    {"thu", kWeekday},    {"thurs", kWeekday},    {"fri", kWeekday},       {"january", kMonth},
    {"february", kMonth}, {"march", kMonth},      {"april", kMonth},       {"june", kMonth},
    {"july", kMonth},     {"august", kMonth},     {"september", kMonth},   {"october", kMonth},
    {"november", kMonth}, {"december", kMonth},   {"jan", kMonth},         {"feb", kMonth},
    {"mar", kMonth},      {"apr", kMonth},        {"jun", kMonth},         {"jul", kMonth},
    {"aug", kMonth},      {"sep", kMonth},        {"sept", kMonth},        {"oct", kMonth},
    {"nov", kMonth},      {"today", kRelDay},     {"tomorrow", kRelDay},   {"tmrw", kRelDay},
    {"tmr", kRelDay},     {"tonight", kRelDay},   {"tomorrows", kRelDay},  {"q1", kQuarter},
    {"q2", kQuarter},     {"q3", kQuarter},       {"q4", kQuarter},
};

// Digits only; named words (weekdays, months, …) get their class from the classifier's lexicon.
std::uint16_t word_class(std::string_view w) {
    return std::all_of(w.begin(), w.end(), is_digit) ? kNum : kWord;
}

// digits with optional ':' minutes.
std::size_t scan_clock(std::string_view s, std::size_t i) {
    std::size_t start = i;
    while (i < s.size() && is_digit(s[i])) ++i;
    if (i == start || i - start > 2) return std::string_view::npos;
    if (i < s.size() && s[i] == ':') {
        std::size_t m = ++i;
        while (i < s.size() && is_digit(s[i])) ++i;
        if (i - m != 2) return std::string_view::npos;
    }
    return i;
}

// Classifies a number-like chunk: "$1.2m", "250k", "92k", "3pm", "2-4pm", "10:30am", "5.1.1",
// "3/12", "555-201-8891", "15%". Returns 0 when the chunk is not one.
std::uint16_t number_class(std::string_view s) {
    if (s.empty() || !(is_digit(s[0]) || (s[0] == '$' && s.size() > 1 && is_digit(s[1])))) return 0;
    if (s.size() >= 5 && (s[0] == '2' || s[0] == '4' || s[0] == '5') && s[1] == '.') {
        auto dots = std::count(s.begin(), s.end(), '.');
        bool digits =
            std::all_of(s.begin(), s.end(), [](char c) { return is_digit(c) || c == '.'; });
        if (dots == 2 && digits && s.back() != '.') return kDsn | kNum;
    }
    // Times: h[:mm][-h[:mm]](am|pm)
    if (s[0] != '$') {
        auto e = scan_clock(s, 0);
        if (e != std::string_view::npos && e < s.size() && s[e] == '-') e = scan_clock(s, e + 1);
        if (e != std::string_view::npos && s.size() - e == 2 &&
            (s.substr(e) == "am" || s.substr(e) == "pm"))
            return kTime | kNum;
    }
    std::size_t i = s[0] == '$' ? 1 : 0;
    bool money = i == 1;
    while (i < s.size() &&
           (is_digit(s[i]) || s[i] == ',' || s[i] == '.' || s[i] == '/' || s[i] == '-'))
        ++i;
    auto suffix = s.substr(i);
    if (suffix.empty() || suffix == "%" || suffix == "x" || suffix == "st" || suffix == "nd" ||
        suffix == "rd" || suffix == "th" || suffix == "yr" || suffix == "s")
        return money ? (kNum | kMoney) : kNum;
    if (suffix == "k" || suffix == "m" || suffix == "mm" || suffix == "mil") return kNum | kMoney;
    return 0;
}

class Builder {
 public:
    explicit Builder(Tokens& out) : out_(out) {}

    void boundary() {
        if (!out_.toks.empty() && !(out_.toks.back().cls & kBoundary))
            out_.toks.push_back({0, 0, kBoundary});
    }

    void add(std::size_t off, std::size_t len, std::uint16_t cls) {
        if (len == 0) return;
        len = std::min<std::size_t>(len, 0xffff);
        auto w = std::string_view(out_.buf).substr(off, len);
        // "3 pm": the number before it is a time.
        if ((w == "am" || w == "pm") && !out_.toks.empty() && (out_.toks.back().cls & kNum))
            out_.toks.back().cls |= kTime;
        out_.toks.push_back(
            {static_cast<std::uint32_t>(off), static_cast<std::uint16_t>(len), cls});
    }

    // Splits a word chunk on anything that is not a letter, digit or non-ASCII byte.
    void add_words(std::size_t off, std::size_t len) {
        const auto& b = out_.buf;
        std::size_t i = off, end = off + len;
        while (i < end) {
            while (i < end && !(is_alnum(b[i]) || static_cast<unsigned char>(b[i]) >= 0x80)) ++i;
            std::size_t s = i;
            while (i < end && (is_alnum(b[i]) || static_cast<unsigned char>(b[i]) >= 0x80)) ++i;
            if (i > s) add(s, i - s, word_class(std::string_view(b).substr(s, i - s)));
        }
    }

    void chunk(std::size_t off, std::size_t len) {
        const auto& b = out_.buf;
        std::string_view leading = "([{\"'<*`";
        std::string_view trailing = ")]}\"'>*`,:";
        bool end_sentence = false;
        while (len > 0 && leading.find(b[off]) != std::string_view::npos) ++off, --len;
        while (len > 0) {
            char c = b[off + len - 1];
            if (c == '.' || c == '!' || c == '?' || c == ';') {
                end_sentence = true;
            } else if (trailing.find(c) == std::string_view::npos) {
                break;
            }
            --len;
        }
        auto w = std::string_view(b).substr(off, len);
        if (!w.empty()) {
            auto at = w.find('@');
            if (at != std::string_view::npos && at > 0 &&
                w.find('.', at) != std::string_view::npos) {
                add(off, len, kEmail);
            } else if (w.starts_with("http://") || w.starts_with("https://") ||
                       w.starts_with("www.") || w.find(".com/") != std::string_view::npos) {
                add(off, len, kUrl);
                // Host labels become words too, so "calendly" or "zoom" can match.
                auto host_begin = w.find("://");
                host_begin = host_begin == std::string_view::npos ? 0 : host_begin + 3;
                auto host_end = w.find('/', host_begin);
                if (host_end == std::string_view::npos) host_end = w.size();
                add_words(off + host_begin, host_end - host_begin);
            } else if (auto cls = number_class(w)) {
                add(off, len, cls);
            } else {
                add_words(off, len);
            }
        }
        if (end_sentence) boundary();
    }

 private:
    Tokens& out_;
};

// Appends `in` case-folded to out.buf. Apostrophes inside words are dropped ("don't" → "dont",
// matching how people type it anyway); typographic quotes and dashes become plain separators.
void fold_into(std::string_view in, Tokens& out, bool count) {
    auto& buf = out.buf;
    int caps_run = 0;
    bool all_caps = true;
    for (std::size_t i = 0; i < in.size(); ++i) {
        char c = in[i];
        auto u = static_cast<unsigned char>(c);
        if (count) {
            if (is_alpha(c)) {
                ++caps_run;
                all_caps = all_caps && (c >= 'A' && c <= 'Z');
            } else {
                if (caps_run >= 4 && all_caps) ++out.shouting_words;
                caps_run = 0;
                all_caps = true;
            }
            if (c == '?') ++out.question_marks;
        }
        bool prev_alpha = !buf.empty() && is_alpha(buf.back());
        if (c == '\'') {
            if (!(prev_alpha && i + 1 < in.size() && is_alpha(in[i + 1]))) buf.push_back(' ');
            continue;
        }
        if (u == 0xE2 && i + 2 < in.size() && static_cast<unsigned char>(in[i + 1]) == 0x80) {
            auto t = static_cast<unsigned char>(in[i + 2]);
            if (t == 0x98 || t == 0x99) {  // ‘ ’
                if (!(prev_alpha && i + 3 < in.size() && is_alpha(in[i + 3]))) buf.push_back(' ');
                i += 2;
                continue;
            }
            if (t == 0x9C || t == 0x9D || t == 0x93 || t == 0x94 || t == 0xA6) {  // “ ” – — …
                buf += t == 0xA6 ? ". " : " ";
                i += 2;
                continue;
            }
        }
        if (u == 0xC2 && i + 1 < in.size() && static_cast<unsigned char>(in[i + 1]) == 0xA0) {
            buf.push_back(' ');  // no-break space
            ++i;
            continue;
        }
        buf.push_back(c == '\t' ? ' ' : lower(c));
    }
    if (count && caps_run >= 4 && all_caps) ++out.shouting_words;
}

void split(std::size_t begin, Tokens& out) {
    Builder b(out);
    const auto& buf = out.buf;
    std::size_t i = begin;
    int newlines = 0;
    while (i < buf.size()) {
        char c = buf[i];
        if (c == '\n') {
            if (++newlines == 2) b.boundary();
            ++i;
            continue;
        }
        if (is_space(c)) {
            ++i;
            continue;
        }
        newlines = 0;
        std::size_t s = i;
        while (i < buf.size() && !is_space(buf[i]) && buf[i] != '\n') ++i;
        b.chunk(s, i - s);
    }
}

}  // namespace

std::span<const ClassWord> class_words() { return kClassWords; }

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}

bool icontains(std::string_view hay, std::string_view needle) {
    if (needle.empty()) return true;
    for (std::size_t i = 0; i + needle.size() <= hay.size(); ++i)
        if (iequals(hay.substr(i, needle.size()), needle)) return true;
    return false;
}

std::string strip_reply(std::string_view body, std::size_t max_bytes, bool* truncated) {
    std::string out;
    out.reserve(std::min(body.size(), max_bytes) + 1);
    auto lines = lines_of(body);
    bool in_forward = false;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        auto t = trim(lines[i]);
        if (t.starts_with('>')) continue;
        if (icontains(t, "forwarded message")) in_forward = true;
        if (is_cut_line(lines, i, in_forward)) break;
        if (istarts(t, "sent from my ") || istarts(t, "get outlook for ")) continue;
        if (out.size() + lines[i].size() + 1 > max_bytes) {
            if (truncated) *truncated = true;
            break;
        }
        out.append(lines[i]);
        out.push_back('\n');
    }
    return out;
}

void tokenize(std::string_view subject, std::string_view stripped_body, Tokens& out) {
    out.buf.clear();
    out.toks.clear();
    out.question_marks = out.shouting_words = 0;
    out.reply_subject = false;
    fold_into(subject, out, false);
    for (auto& ch : out.buf)
        if (ch == '\n') ch = ' ';  // a folded subject is one line
    split(0, out);
    Builder(out).boundary();
    out.body_begin = out.toks.size();
    if (out.body_begin > 0) {
        auto first = out.text(0);
        out.reply_subject = first == "re" || first == "fw" || first == "fwd" || first == "aw" ||
                            first == "sv" || first == "wg" || first == "antw";
    }
    std::size_t body_off = out.buf.size();
    out.buf.push_back('\n');
    fold_into(stripped_body, out, true);
    split(body_off, out);
}

}  // namespace postern::connex::text
