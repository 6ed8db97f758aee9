#include "core/status.hpp"

namespace aicache {

const char *to_string(Errc code) noexcept {
    switch (code) {
    case Errc::ok: return "ok";
    case Errc::invalid_argument: return "invalid argument";
    case Errc::not_found: return "not found";
    case Errc::io: return "i/o error";
    case Errc::abi: return "abi mismatch";
    case Errc::plugin: return "plugin error";
    case Errc::corrupt: return "corrupt";
    case Errc::busy: return "busy";
    case Errc::timeout: return "timeout";
    case Errc::internal: return "internal error";
    }
    return "unknown";
}

std::optional<Errc> errc_named(std::string_view name) noexcept {
    for (int code = int(Errc::ok); code <= int(Errc::internal); ++code)
        if (name == to_string(Errc(code))) return Errc(code);
    return std::nullopt;
}

} // namespace aicache
