// The outbound client's reply reader and EHLO reply parser (smtpd/proto/reply.hpp).
#include "smtpd/proto/reply.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <string_view>

#include "common/ascii.hpp"

namespace postern::smtp {

std::string ServerReply::text() const {
    char digits[8];
    std::snprintf(digits, sizeof digits, "%03d", code);
    std::string out = digits;
    for (const auto& line : lines)
        if (!line.empty()) {
            out += ' ';
            out += line;
        }
    return out;
}

void ReplyReader::reset() {
    scanned_ = 0;
    searched_ = 0;
    partial_ = ServerReply{};
}

ReplyReader::Status ReplyReader::next(std::string& in, ServerReply& out) {
    for (;;) {
        const auto lf = in.find('\n', std::max(scanned_, searched_));
        if (lf == std::string::npos) {
            searched_ = in.size();  // a line trickling in is searched once, not once per byte
            if (in.size() > max_bytes_) return Status::too_long;
            return Status::need_more;
        }
        if (lf + 1 > max_bytes_) return Status::too_long;
        std::string_view line(in.data() + scanned_, lf - scanned_);
        while (line.ends_with('\r')) line.remove_suffix(1);
        auto digit = [](char c) { return c >= '0' && c <= '9'; };
        if (line.size() < 3 || line[0] < '2' || line[0] > '5' || !digit(line[1]) ||
            !digit(line[2]) || (line.size() > 3 && line[3] != ' ' && line[3] != '-'))
            return Status::malformed;
        if (partial_.lines.size() == max_lines_) return Status::too_long;
        partial_.code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
        partial_.lines.emplace_back(line.size() > 4 ? line.substr(4) : std::string_view());
        scanned_ = lf + 1;
        if (line.size() == 3 || line[3] == ' ') {
            in.erase(0, scanned_);
            out = std::move(partial_);
            reset();
            return Status::reply;
        }
    }
}

Extensions parse_ehlo(const ServerReply& reply) {
    Extensions ext;
    for (std::size_t i = 1; i < reply.lines.size(); ++i) {
        const std::string_view line = reply.lines[i];
        const auto space = line.find(' ');
        const std::string_view keyword = line.substr(0, space);
        const std::string_view params =
            space == std::string_view::npos ? std::string_view() : trim_wsp(line.substr(space));
        if (iequals_ascii(keyword, "STARTTLS")) {
            ext.starttls = true;
        } else if (iequals_ascii(keyword, "PIPELINING")) {
            ext.pipelining = true;
        } else if (iequals_ascii(keyword, "8BITMIME")) {
            ext.eightbit = true;
        } else if (iequals_ascii(keyword, "SMTPUTF8")) {
            ext.smtputf8 = true;
        } else if (iequals_ascii(keyword, "SIZE")) {
            // "SIZE" alone or "SIZE 0": no fixed limit (RFC 1870 §4). A parameter that is not a
            // number is ignored, as is the keyword's limit then.
            ext.size = true;
            std::uint64_t n = 0;
            auto [end, ec] = std::from_chars(params.data(), params.data() + params.size(), n);
            if (ec == std::errc() && end == params.data() + params.size()) ext.max_size = n;
        }
    }
    return ext;
}

}  // namespace postern::smtp
