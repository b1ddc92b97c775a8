#pragma once
// SMTP command lines (RFC 5321 §4.1): the verb, the MAIL/RCPT path with its ESMTP parameters
// (RFC 5321 §4.1.2), and the HELO/EHLO name. Pure and thread-safe. Results are views into the
// line passed in and are valid while that line lives.
#include <string_view>
#include <tl/expected.hpp>
#include <vector>

namespace postern::smtp {

enum class Verb {
    helo,
    ehlo,
    mail,
    rcpt,
    data,
    rset,
    noop,
    quit,
    help,
    vrfy,
    expn,
    // Known but not offered (yet): answered 502 5.5.1.
    starttls,
    auth,
    bdat,
    turn,
    etrn,
    unknown,
};

struct Command {
    Verb verb = Verb::unknown;
    std::string_view arg;  // after the verb and the spaces that follow it; trailing spaces cut
};

// `line` is one command line without its CRLF. The verb is matched case-insensitively and must
// be followed by a space or the end of the line ("MAILX" is unknown).
Command parse_command(std::string_view line);

struct Param {
    std::string_view keyword;  // as written; compare case-insensitively
    std::string_view value;    // empty when there was no "=value"
    bool has_value = false;
};

struct PathArgument {
    std::string_view mailbox;  // between < and >, source route removed; empty for "<>"
    std::vector<Param> params;
};

enum class ArgError {
    syntax,  // the keyword or a parameter is malformed: 501 5.5.4
    path,    // the <path> is malformed: 501 5.1.7 (MAIL) or 501 5.1.3 (RCPT)
};

// Parses a MAIL argument ("FROM:<path> params", prefix "FROM:") or a RCPT argument ("TO:<path>
// params", prefix "TO:"). The prefix is case-insensitive; spaces after the colon are tolerated.
// The mailbox is not validated beyond its framing: the caller hands it to parse_address.
tl::expected<PathArgument, ArgError> parse_path_argument(std::string_view arg,
                                                         std::string_view prefix);

// A HELO/EHLO argument: a domain (letters, digits, '-', '_', '.', UTF-8) or an address literal
// ("[192.0.2.1]", "[IPv6:2001:db8::1]"). Refuses what could not safely go into a Received header.
bool is_valid_helo_name(std::string_view name);

// "local@[192.0.2.1]" and the like: a mailbox whose domain is an address literal (RFC 5321
// §4.1.2). Valid syntax that parse_address does not take: no mailbox of ours has such a domain.
bool is_address_literal_mailbox(std::string_view mailbox);

}  // namespace postern::smtp
