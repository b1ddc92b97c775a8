#pragma once
// Makes a self-signed TLS certificate (RSA-2048, SHA-256, SAN = hostname) for `postern init`.
#include <filesystem>
#include <string>

namespace postern::cli {
// Writes the key (mode 0600) and certificate as PEM; throws std::runtime_error on failure.
void write_self_signed(const std::string& hostname, const std::filesystem::path& cert,
                       const std::filesystem::path& key);
}  // namespace postern::cli
