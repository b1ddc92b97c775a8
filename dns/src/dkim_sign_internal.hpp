#pragma once
// Private to dkim_sign*.cpp.
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "dns/dkim_sign.hpp"

namespace postern::dns::detail {

// One ed25519-sha256 DKIM-Signature field ("DKIM-Signature: …\r\n"), relaxed/relaxed, over the
// header fields (as dkim_header() takes them) and the body, h= from `signed_headers`
// (null-terminated). See dkim_sign_ed25519.cpp for why this is not libopendkim.
[[nodiscard]] Result<std::string> sign_ed25519(const std::vector<std::string_view>& fields,
                                               std::string_view body, const DkimSigningKey& key,
                                               const char* const* signed_headers);

}  // namespace postern::dns::detail
