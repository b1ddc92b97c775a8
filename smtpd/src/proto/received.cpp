#include "smtpd/proto/received.hpp"

#include "common/address.hpp"
#include "common/ascii.hpp"

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

std::string ascii_helo(std::string_view helo, std::string_view client_ip) {
    if (is_ascii(helo)) return std::string(helo);
    if (auto alabel = normalize_domain(helo)) return *alabel;
    const bool v6 = client_ip.find(':') != std::string_view::npos;
    return (v6 ? "[IPv6:" : "[") + std::string(client_ip) + "]";
}

}  // namespace postern::smtp
