#include "common/log.hpp"

#include <spdlog/sinks/stdout_sinks.h>

#include <stdexcept>
#include <string>

namespace postern {

void init_logging(std::string_view level, std::string_view name) {
    auto lvl = spdlog::level::from_str(std::string(level));
    if (lvl == spdlog::level::off && level != "off")
        throw std::runtime_error("unknown log level '" + std::string(level) + "'");
    auto logger = spdlog::stderr_logger_mt(std::string(name));
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %n %l %v", spdlog::pattern_time_type::utc);
    logger->set_level(lvl);
    spdlog::set_default_logger(logger);
}

}  // namespace postern
