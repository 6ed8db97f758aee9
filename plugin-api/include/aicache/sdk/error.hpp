// Errors a plugin raises inside the SDK; the trampolines turn them into status codes + host error text.
#pragma once

#include <aicache/abi.h>

#include <stdexcept>
#include <string>

namespace aicache::sdk {

// Throw from any plugin method to fail the current call with a specific status and message.
class Error : public std::runtime_error {
public:
    Error(aicache_status status, const std::string &message) : std::runtime_error(message), status_(status) {}
    [[nodiscard]] aicache_status status() const noexcept { return status_; }

private:
    aicache_status status_;
};

inline Error invalid_argument(const std::string &message) { return Error(AICACHE_ERR_INVALID_ARGUMENT, message); }
inline Error state_format_error(const std::string &message) { return Error(AICACHE_ERR_STATE_FORMAT, message); }

} // namespace aicache::sdk
