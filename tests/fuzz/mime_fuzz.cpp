// Fuzz target: reading a received message (common/mime.hpp, GMime), as ingress does for every
// message (mime::summarize) and the REST API does to show one (mime::parse, mime::attachment).
// The input is the raw message. Invariants checked:
// - summarize and parse accept the same inputs, and parse's summary equals summarize's: the two
//   reach the snippet by different roads (summarize decodes only as much text as it needs, parse
//   decodes all of it), so a difference is a bug in one of them;
// - every text handed out is valid UTF-8 (subject, names, header values, bodies, snippet,
//   filenames); the snippet has at most 200 code points, no leading, trailing or doubled space,
//   and none of the code points it collapses or drops (controls, separators, other spaces,
//   invisible format characters; a sample of each class);
// - attachment(i) exists for every attachment parse lists, describes it the same way and returns
//   exactly `size` bytes; attachment(count) is not_found;
// - the subject's thread key is valid UTF-8, and Utf8Fixer gives the same text whether the input
//   comes whole or cut in two (the first byte picks the cut).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/address.hpp"
#include "common/mime.hpp"
#include "invariant.hpp"
#include "mime_text.hpp"

using namespace postern;

namespace {

void check_text(std::string_view s) { FUZZ_CHECK(is_valid_utf8(s)); }

void check_mailboxes(const std::vector<mime::Mailbox>& list) {
    for (const auto& m : list) {
        check_text(m.name);
        check_text(m.address);
    }
}

bool same_mailboxes(const std::vector<mime::Mailbox>& a, const std::vector<mime::Mailbox>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (a[i].name != b[i].name || a[i].address != b[i].address) return false;
    return true;
}

// Code points a snippet never holds: controls (C0, DEL, C1), line and paragraph separators and
// spaces other than U+0020 (collapsed into one), and invisible format characters (dropped).
// A sample of each Unicode class the snippet builder handles, not all of them.
bool banned_in_snippet(char32_t cp) {
    return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0xA0 || cp == 0xAD || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200F) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
           cp == 0x205F || cp == 0x3000 || cp == 0xFEFF;
}

void check_snippet(std::string_view s) {
    check_text(s);
    if (s.empty()) return;
    FUZZ_CHECK(s.front() != ' ' && s.back() != ' ');
    FUZZ_CHECK(s.find("  ") == std::string_view::npos);
    std::size_t chars = 0;
    for (std::size_t i = 0; i < s.size(); ++chars) {  // valid UTF-8, checked above
        const auto lead = static_cast<unsigned char>(s[i]);
        const std::size_t len = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
        char32_t cp = len == 1 ? lead : lead & (0x7F >> len);
        for (std::size_t k = 1; k < len; ++k)
            cp = cp << 6 | (static_cast<unsigned char>(s[i + k]) & 0x3F);
        FUZZ_CHECK(!banned_in_snippet(cp));
        i += len;
    }
    FUZZ_CHECK(chars <= 200);
}

void check_summary(const mime::Summary& s) {
    check_text(s.subject);
    check_text(s.message_id);
    check_text(s.in_reply_to);
    for (const auto& r : s.references) check_text(r);
    check_mailboxes(s.from);
    check_mailboxes(s.to);
    check_mailboxes(s.cc);
    check_mailboxes(s.reply_to);
    check_snippet(s.snippet);
    check_text(mime::normalize_subject(s.subject));
}

bool same_summary(const mime::Summary& a, const mime::Summary& b) {
    return a.message_id == b.message_id && a.in_reply_to == b.in_reply_to &&
           a.references == b.references && same_mailboxes(a.from, b.from) &&
           same_mailboxes(a.to, b.to) && same_mailboxes(a.cc, b.cc) &&
           same_mailboxes(a.reply_to, b.reply_to) && a.subject == b.subject &&
           a.date_ms == b.date_ms && a.snippet == b.snippet &&
           a.has_attachments == b.has_attachments;
}

bool same_attachment(const mime::Attachment& a, const mime::Attachment& b) {
    return a.index == b.index && a.filename == b.filename && a.content_type == b.content_type &&
           a.content_id == b.content_id && a.inline_disposition == b.inline_disposition &&
           a.size == b.size && a.charset == b.charset;
}

void check_utf8_fixer(std::string_view in, std::size_t cut) {
    const std::string whole = mime::detail::to_utf8(in);
    check_text(whole);
    mime::detail::Utf8Fixer fixer;
    std::string parts;
    cut = cut % (in.size() + 1);
    fixer.put(in.substr(0, cut), parts);
    fixer.put(in.substr(cut), parts);
    fixer.finish(parts);
    FUZZ_CHECK(parts == whole);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view raw(reinterpret_cast<const char*>(data), size);
    if (size > 0) check_utf8_fixer(raw.substr(1), data[0]);

    auto summary = mime::summarize(raw);
    auto parsed = mime::parse(raw);
    FUZZ_CHECK(summary.has_value() == parsed.has_value());
    if (!parsed) {
        FUZZ_CHECK(parsed.error().code() == Errc::invalid_argument);
        return 0;
    }
    check_summary(*summary);
    FUZZ_CHECK(same_summary(*summary, parsed->summary));

    for (const auto& h : parsed->headers) {
        check_text(h.name);
        check_text(h.value);
    }
    check_text(parsed->text);
    check_text(parsed->html);
    // Bodies are served with LF line ends only: a bare CR that QP or base64 carried is one too.
    FUZZ_CHECK(parsed->text.find('\r') == std::string::npos);
    FUZZ_CHECK(parsed->html.find('\r') == std::string::npos);
    FUZZ_CHECK(parsed->summary.has_attachments == !parsed->attachments.empty());

    const auto& list = parsed->attachments;
    for (std::size_t i = 0; i < list.size(); ++i) {
        FUZZ_CHECK(list[i].index == i);
        check_text(list[i].filename);
        FUZZ_CHECK(list[i].content_type.find('/') != std::string::npos);
        auto one = mime::attachment(raw, i);
        FUZZ_CHECK(one.has_value());
        FUZZ_CHECK(same_attachment(one->meta, list[i]));
        FUZZ_CHECK(one->data.size() == list[i].size);
    }
    auto past = mime::attachment(raw, list.size());
    FUZZ_CHECK(!past && past.error().code() == Errc::not_found);
    return 0;
}
