#pragma once
// A blocking run of DomainCheck (onboarding.hpp) through our c-ares resolver: `postern domain
// check` and POST /v1/domains/{id}/verify (on apid's worker pool, never an io thread). Each call
// makes its own io_context and resolver, so calls are independent and thread-safe.
#include <chrono>
#include <vector>

#include "common/config.hpp"
#include "dns/onboarding.hpp"

namespace postern::dns {
// Runs the check to completion (every lookup bounded by `timeout` in all). Blocking.
std::vector<RecordCheck> run_domain_check(const DnsConfig& config, DomainSetup setup,
                                          std::chrono::milliseconds timeout);
}  // namespace postern::dns
