#pragma once
// `postern domain check`: looks a domain's records up through the configured resolver.
#include <chrono>
#include <vector>

#include "common/config.hpp"
#include "dns/onboarding.hpp"

namespace postern::cli {
// Runs the check to completion (every lookup bounded by `timeout` in all). Blocking.
std::vector<dns::RecordCheck> run_domain_check(const Config& config, dns::DomainSetup setup,
                                               std::chrono::milliseconds timeout);
}  // namespace postern::cli
