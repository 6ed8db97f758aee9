// One loaded plugin library: mapped with Boost.DLL from its content address, negotiated through
// aicache_plugin_init, its descriptor and kind table copied and checked. Destroying the object
// unloads the library; whoever holds a PluginLibrary keeps its code mapped.
#pragma once

#include "core/status.hpp"
#include "loader/content_store.hpp"

#include <aicache/abi.h>

#include <boost/dll/shared_library.hpp>

#include <filesystem>
#include <memory>
#include <string>

namespace aicache::loader {

const char *kind_name(aicache_kind kind) noexcept;
const char *status_name(aicache_status status) noexcept;

// The text a plugin attached to its last failed call on this thread (via report_error), then cleared.
std::string take_plugin_error();
// "on_insert failed (internal): boom" from a plugin status and the text it reported.
Status plugin_failure(const std::string &call, aicache_status status);

struct PluginFacts {
    std::string name;
    std::string version;
    aicache_kind kind = 0;
    uint16_t abi_major = 0;
    uint16_t abi_minor = 0;
    uint64_t capabilities = 0;
    std::string state_format;
    std::string content_hash;
    std::filesystem::path path; // the content-addressed copy that is mapped

    // "name version", as logs, reports and the audit log name a plugin.
    std::string name_and_version() const { return name + " " + version; }
};

class PluginLibrary {
public:
    // Checks the ELF file, maps it, calls its entry point and validates what it filled in.
    static Expected<std::shared_ptr<PluginLibrary>> load(const StoredLibrary &stored);
    // Maps a file where it lies, for one-shot processes (replay, qualification) that load each
    // path once; a long-running host loads from the content store instead. With `expected_hash`
    // (what its qualification passed), other bytes are refused before anything is mapped
    // (read_library).
    static Expected<std::shared_ptr<PluginLibrary>> load_file(const std::filesystem::path &file,
                                                              const std::optional<std::string> &expected_hash = std::nullopt);
    // Code mapped by someone else (a JIT-linked patch): negotiates through `entry`; `code` keeps
    // the code alive and removes it when the last holder lets go.
    static Expected<std::shared_ptr<PluginLibrary>> from_entry(aicache_plugin_init_fn entry, std::shared_ptr<void> code,
                                                               const std::string &label, const std::string &content_hash);

    PluginLibrary(const PluginLibrary &) = delete;
    PluginLibrary &operator=(const PluginLibrary &) = delete;
    ~PluginLibrary();

    [[nodiscard]] const PluginFacts &facts() const noexcept { return facts_; }
    // The kind's table, copied: fields of minors the plugin did not know are NULL.
    [[nodiscard]] const aicache_policy_vtable *policy() const noexcept {
        return facts_.kind == AICACHE_KIND_POLICY ? &policy_ : nullptr;
    }
    [[nodiscard]] const aicache_learner_vtable *learner() const noexcept {
        return facts_.kind == AICACHE_KIND_LEARNER ? &learner_ : nullptr;
    }
    [[nodiscard]] const aicache_optimizer_vtable *optimizer() const noexcept {
        return facts_.kind == AICACHE_KIND_OPTIMIZER ? &optimizer_ : nullptr;
    }

private:
    struct HostContext {
        std::string label; // "lru 1.0.0 (3f2a9c1d)" in log lines
    };
    PluginLibrary() = default;
    Status negotiate(const std::string &what);
    Status negotiate(const std::string &what, aicache_plugin_init_fn init);
    Status take_policy_table(const std::string &what, const aicache_policy_vtable *table);
    Status take_learner_table(const std::string &what, const aicache_learner_vtable *table);
    Status take_optimizer_table(const std::string &what, const aicache_optimizer_vtable *table);

    // Declaration order matters: the library (last) is unloaded before the context it was given.
    std::unique_ptr<HostContext> context_;
    aicache_host_api host_api_{};
    PluginFacts facts_;
    aicache_policy_vtable policy_{};
    aicache_learner_vtable learner_{};
    aicache_optimizer_vtable optimizer_{};
    boost::dll::shared_library library_; // or, for JIT-linked code:
    std::shared_ptr<void> code_;
};

} // namespace aicache::loader
