// Logging facade: spdlog to stderr, quiet (warnings and errors) unless asked.
#pragma once

#include <spdlog/spdlog.h>

#include <string_view>

namespace aicache {

// level: "trace" | "debug" | "info" | "warn" | "error" | "off"; also read from AICACHE_LOG.
void init_logging(std::string_view level = "warn");

} // namespace aicache
