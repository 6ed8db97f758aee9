#include "core/log.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <cstdlib>
#include <string>

namespace aicache {

void init_logging(std::string_view level) {
    const char *from_env = std::getenv("AICACHE_LOG");
    std::string chosen(from_env != nullptr ? std::string_view(from_env) : level);
    auto logger = spdlog::stderr_color_mt("aicache");
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
    spdlog::set_default_logger(logger);
    spdlog::set_level(spdlog::level::from_str(chosen));
}

} // namespace aicache
