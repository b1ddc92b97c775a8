#include "smtpd/proto/received.hpp"

namespace postern::smtp {

std::string format_received(const ReceivedInfo& info, std::string_view id, std::string_view date) {
    std::string h;
    h.reserve(160 + info.helo.size() + info.hostname.size() + info.for_rcpt.size());
    h += "Received: from ";
    h += info.helo;
    h += info.client_ip.find(':') != std::string::npos ? " ([IPv6:" : " ([";
    h += info.client_ip;
    h += "])\r\n\tby ";
    h += info.hostname;
    h += " (Postern) with ";
    h += info.protocol;
    h += " id ";
    h += id;
    if (!info.for_rcpt.empty()) {
        h += "\r\n\tfor <";
        h += info.for_rcpt;
        h += '>';
    }
    h += ";\r\n\t";
    h += date;
    h += "\r\n";
    return h;
}

}  // namespace postern::smtp
