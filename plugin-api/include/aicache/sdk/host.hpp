// The host's function table as seen from inside a plugin: logging and the host clock.
#pragma once

#include <aicache/abi.h>

#include <string>

namespace aicache::sdk {

namespace detail {
// One per plugin library. Hidden visibility and -fno-gnu-unique keep it private to the library.
inline const aicache_host_api *g_host = nullptr;
} // namespace detail

inline void log(aicache_log_level level, const std::string &message) noexcept {
    const aicache_host_api *host = detail::g_host;
    if (host != nullptr && host->log != nullptr) host->log(host->host_ctx, level, message.c_str());
}

// Microseconds on the host's clock, or 0 when the host offers none.
inline uint64_t host_now_us() noexcept {
    const aicache_host_api *host = detail::g_host;
    return (host != nullptr && host->now_us != nullptr) ? host->now_us(host->host_ctx) : 0;
}

} // namespace aicache::sdk
