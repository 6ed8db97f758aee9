// The exception firewall: every SDK trampoline runs plugin code through guarded(), so no C++
// exception ever crosses the C ABI. Failures become a status plus text sent to the host.
#pragma once

#include <aicache/abi.h>
#include <aicache/sdk/error.hpp>
#include <aicache/sdk/host.hpp>

#include <exception>
#include <new>

namespace aicache::sdk::detail {

inline void report(aicache_status status, const char *message) noexcept {
    const aicache_host_api *host = g_host;
    if (host != nullptr && host->report_error != nullptr) host->report_error(host->host_ctx, status, message);
}

template <class Fn>
aicache_status guarded(Fn &&fn) noexcept {
    try {
        fn();
        return AICACHE_OK;
    } catch (const Error &e) {
        report(e.status(), e.what());
        return e.status();
    } catch (const std::bad_alloc &) {
        report(AICACHE_ERR_NO_MEMORY, "out of memory");
        return AICACHE_ERR_NO_MEMORY;
    } catch (const std::exception &e) {
        report(AICACHE_ERR_INTERNAL, e.what());
        return AICACHE_ERR_INTERNAL;
    } catch (...) {
        report(AICACHE_ERR_INTERNAL, "unknown exception");
        return AICACHE_ERR_INTERNAL;
    }
}

// Fills the host's descriptor without writing past the bytes the host provided.
inline aicache_status init_descriptor(const aicache_host_api *host, aicache_plugin_descriptor *out,
                                      aicache_kind kind, const char *name, const char *version,
                                      uint64_t capabilities, const void *vtable) noexcept {
    if (host == nullptr || out == nullptr) return AICACHE_ERR_INVALID_ARGUMENT;
    if (host->abi_major != AICACHE_ABI_MAJOR) return AICACHE_ERR_ABI;
    g_host = host;
    aicache_plugin_descriptor mine{};
    mine.struct_size = sizeof mine;
    mine.abi_major = AICACHE_ABI_MAJOR;
    mine.abi_minor = AICACHE_ABI_MINOR;
    mine.kind = kind;
    mine.name = name;
    mine.version = version;
    mine.capabilities = capabilities;
    mine.vtable = vtable;
    uint32_t room = out->struct_size < sizeof mine ? out->struct_size : static_cast<uint32_t>(sizeof mine);
    mine.struct_size = room;
    __builtin_memcpy(out, &mine, room);
    return AICACHE_OK;
}

} // namespace aicache::sdk::detail

// Exported with default visibility; everything else in a plugin is hidden (see aicache_add_plugin).
#define AICACHE_EXPORT extern "C" __attribute__((visibility("default")))
