#pragma once
// The server side TLS context of postern-smtpd (STARTTLS, RFC 3207; implicit TLS, RFC 8314):
// TLS 1.2 or later, the certificate chain and key from the config.
#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <string>

#include "common/config.hpp"

namespace postern::smtp {

// Loads config.tls_cert and config.tls_key. Returns null and sets `error` (one line) when they
// cannot be loaded.
std::shared_ptr<boost::asio::ssl::context> make_server_tls(const Config& config,
                                                           std::string& error);

}  // namespace postern::smtp
