// DSN building with GMime: GMime writes the MIME structure, boundaries and header encoding; the
// message/delivery-status body is plain RFC 3464 fields we write ourselves (GMime has no builder
// for it).
#include "common/dsn.hpp"

#include <gmime/gmime.h>

#include <cctype>
#include <memory>

#include "common/ids.hpp"
#include "common/mime.hpp"
#include "common/time.hpp"
#include "gobj.hpp"

namespace postern::dsn {
namespace {

// The host of a "host:port" (a configured route), which is what the dns name type names
// (RFC 3464 §2.3.5): "mx.example:2525" and "127.0.0.1:2525" lose the port, "[::1]:2525" the
// brackets and the port; anything else is kept.
std::string_view mta_name(std::string_view host) {
    std::size_t colon = host.rfind(':');
    if (colon == std::string_view::npos || colon + 1 == host.size()) return host;
    for (char c : host.substr(colon + 1))
        if (c < '0' || c > '9') return host;
    std::string_view name = host.substr(0, colon);
    if (name.size() > 2 && name.front() == '[' && name.back() == ']')
        return name.substr(1, name.size() - 2);
    return name.find(':') == std::string_view::npos ? name : host;  // a bare IPv6 address
}

using postern::detail::GObj;

// A leaf part of type/subtype holding `content` as it is.
GObj<GMimePart> leaf(const char* type, const char* subtype, const std::string& content,
                     bool ascii) {
    GObj<GMimePart> part(g_mime_part_new_with_type(type, subtype));
    GObj<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(content.data(), content.size()));
    GObj<GMimeDataWrapper> wrapper(
        g_mime_data_wrapper_new_with_stream(stream.get(), GMIME_CONTENT_ENCODING_DEFAULT));
    g_mime_part_set_content(part.get(), wrapper.get());
    g_mime_part_set_content_encoding(
        part.get(), ascii ? GMIME_CONTENT_ENCODING_7BIT : GMIME_CONTENT_ENCODING_8BIT);
    return part;
}

bool is_ascii(std::string_view s) {
    for (unsigned char c : s)
        if (c >= 0x80) return false;
    return true;
}

// One line of a field value: CR and LF would end the field early.
std::string one_line(std::string_view s) {
    std::string out;
    for (char c : s) out += (c == '\r' || c == '\n') ? ' ' : c;
    return out;
}

std::string header_section(std::string_view raw) {
    std::size_t end = raw.find("\r\n\r\n");
    if (end != std::string_view::npos) return std::string(raw.substr(0, end + 2));
    end = raw.find("\n\n");
    if (end != std::string_view::npos) return std::string(raw.substr(0, end + 1));
    return std::string(raw);
}

}  // namespace

std::string status_of(std::string_view reply, char default_class) {
    // "550 5.1.1 text" or "550-5.1.1 text": the code after the three digits and a separator.
    if (reply.size() >= 9 && (reply[3] == ' ' || reply[3] == '-')) {
        std::string_view rest = reply.substr(4);
        std::size_t i = 0;
        auto digits = [&](std::size_t max) {
            std::size_t start = i;
            while (i < rest.size() && std::isdigit(static_cast<unsigned char>(rest[i])) &&
                   i - start < max)
                ++i;
            return i > start;
        };
        if (!rest.empty() && (rest[0] == '2' || rest[0] == '4' || rest[0] == '5')) {
            i = 1;
            if (i < rest.size() && rest[i] == '.') {
                ++i;
                if (digits(3) && i < rest.size() && rest[i] == '.') {
                    ++i;
                    if (digits(3) && (i == rest.size() || rest[i] == ' '))
                        return std::string(rest.substr(0, i));
                }
            }
        }
    }
    return std::string(1, default_class) + ".0.0";
}

Result<std::string> build(const Request& r) {
    if (r.recipients.empty()) return fail(Errc::invalid_argument, "a DSN needs a recipient");
    mime::init();

    std::string text;
    if (r.delay) {
        text = "This is the mail system at " + r.reporting_mta +
               ".\r\n\r\nYour message could not be delivered yet. It stays in the queue and "
               "delivery will be retried until " +
               rfc5322_date(r.retry_until_ms) + "; you do not need to send it again.\r\n\r\n";
    } else {
        text = "This is the mail system at " + r.reporting_mta +
               ".\r\n\r\nYour message could not be delivered to one or more recipients. "
               "It will not be retried.\r\n\r\n";
    }
    for (const auto& rc : r.recipients)
        text += "<" + one_line(rc.recipient) + ">: " + one_line(rc.diagnostic) + "\r\n";

    std::string status = "Reporting-MTA: dns; " + one_line(r.reporting_mta) + "\r\n" +
                         "Arrival-Date: " + rfc5322_date(r.arrival_ms) + "\r\n";
    for (const auto& rc : r.recipients) {
        status += "\r\nFinal-Recipient: rfc822; " + one_line(rc.recipient) + "\r\n";
        status += std::string("Action: ") + (r.delay ? "delayed" : "failed") + "\r\n";
        status += "Status: " + one_line(rc.status) + "\r\n";
        if (!rc.remote_mta.empty())
            status += "Remote-MTA: dns; " + one_line(mta_name(rc.remote_mta)) + "\r\n";
        if (!rc.diagnostic.empty())
            status += std::string("Diagnostic-Code: ") +
                      (rc.smtp_diagnostic ? "smtp; " : "x-postern; ") + one_line(rc.diagnostic) +
                      "\r\n";
        if (rc.last_attempt_ms > 0)
            status += "Last-Attempt-Date: " + rfc5322_date(rc.last_attempt_ms) + "\r\n";
        if (r.delay) status += "Will-Retry-Until: " + rfc5322_date(r.retry_until_ms) + "\r\n";
    }

    GObj<GMimeMessage> msg(g_mime_message_new(TRUE));
    g_mime_message_add_mailbox(msg.get(), GMIME_ADDRESS_TYPE_FROM, "Mail Delivery System",
                               ("MAILER-DAEMON@" + r.reporting_mta).c_str());
    g_mime_message_add_mailbox(msg.get(), GMIME_ADDRESS_TYPE_TO, "", r.to.c_str());
    g_mime_message_set_subject(
        msg.get(),
        r.delay ? "Delayed Mail (still being retried)" : "Undelivered Mail Returned to Sender",
        "utf-8");
    std::unique_ptr<GDateTime, void (*)(GDateTime*)> date(
        g_date_time_new_from_unix_utc(r.now_ms / 1000), g_date_time_unref);
    g_mime_message_set_date(msg.get(), date.get());
    std::string mid = new_id("dsn") + "@" + r.reporting_mta;
    g_mime_message_set_message_id(msg.get(), mid.c_str());
    g_mime_object_set_header(GMIME_OBJECT(msg.get()), "Auto-Submitted", "auto-replied", nullptr);

    GObj<GMimeMultipart> report(g_mime_multipart_new_with_subtype("report"));
    g_mime_object_set_content_type_parameter(GMIME_OBJECT(report.get()), "report-type",
                                             "delivery-status");
    GObj<GMimeTextPart> human(g_mime_text_part_new_with_subtype("plain"));
    g_mime_text_part_set_text(human.get(), text.c_str());
    g_mime_multipart_add(report.get(), GMIME_OBJECT(human.get()));
    auto ds = leaf("message", "delivery-status", status, is_ascii(status));
    g_mime_multipart_add(report.get(), GMIME_OBJECT(ds.get()));
    std::string headers = header_section(r.original);
    auto hp = leaf("text", "rfc822-headers", headers, is_ascii(headers));
    g_mime_multipart_add(report.get(), GMIME_OBJECT(hp.get()));
    g_mime_message_set_mime_part(msg.get(), GMIME_OBJECT(report.get()));

    std::unique_ptr<GMimeFormatOptions, void (*)(GMimeFormatOptions*)> format(
        g_mime_format_options_new(), g_mime_format_options_free);
    g_mime_format_options_set_newline_format(format.get(), GMIME_NEWLINE_FORMAT_DOS);
    char* out = g_mime_object_to_string(GMIME_OBJECT(msg.get()), format.get());
    if (out == nullptr) return fail(Errc::internal, "GMime could not write the report");
    std::string result(out);
    g_free(out);
    return result;
}

}  // namespace postern::dsn
