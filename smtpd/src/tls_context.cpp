#include "tls_context.hpp"

#include <openssl/ssl.h>

namespace postern::smtp {

namespace ssl = boost::asio::ssl;

std::shared_ptr<ssl::context> make_server_tls(const Config& config, std::string& error) {
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
    boost::system::error_code ec;
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                         ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                         ssl::context::no_tlsv1_1 | ssl::context::single_dh_use,
                     ec);
    SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
    // No session resumption across connections: nothing to keep, nothing to leak.
    SSL_CTX_set_session_cache_mode(ctx->native_handle(), SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx->native_handle(), SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
    std::string cert = config.path(config.tls_cert).string();
    std::string key = config.path(config.tls_key).string();
    if (!ec) ctx->use_certificate_chain_file(cert, ec);
    if (ec) {
        error = "cannot load the TLS certificate " + cert + ": " + ec.message();
        return nullptr;
    }
    ctx->use_private_key_file(key, ssl::context::pem, ec);
    if (ec) {
        error = "cannot load the TLS key " + key + ": " + ec.message();
        return nullptr;
    }
    if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
        error = "the TLS key " + key + " does not match the certificate " + cert;
        return nullptr;
    }
    return ctx;
}

}  // namespace postern::smtp
