// The plugin host: every plugin version the runtime has seen, which one is active per name, and
// the operations an operator runs on them (load, rollback). A version is qualified in a child
// process, copied to its content address, mapped, recorded in the knowledge repository, and then
// published to subscribers (the cache swaps its policy). The previous active version of each
// plugin stays mapped, so rolling back to it costs no load.
#pragma once

#include "core/status.hpp"
#include "loader/content_store.hpp"
#include "loader/plugin_library.hpp"
#include "store/plugin_versions.hpp"

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace aicache::loader {

struct LoadedVersion {
    store::PluginVersionRecord record;
    std::shared_ptr<const PluginLibrary> library;
};

class PluginHost {
public:
    // Qualifies a file before it is mapped and returns the hex SHA-256 of the bytes that passed,
    // so that what is stored and mapped is exactly what was qualified even if the file is
    // replaced meanwhile; an empty function skips qualification (tests only).
    using Qualifier = std::function<Expected<std::string>(const std::filesystem::path &file)>;
    // Called with the newly active library of a plugin; an error undoes the activation.
    using Subscriber = std::function<Status(const std::string &name, const std::shared_ptr<const PluginLibrary> &library)>;

    PluginHost(store::Database &db, std::filesystem::path library_store, Qualifier qualify);

    // Qualify, store, map, record and (unless activate is false) activate a library file.
    Expected<LoadedVersion> load(const std::filesystem::path &file, const std::string &who, bool activate = true);
    // Re-activates an earlier version: `to` as accepted by PluginVersions::resolve, or the previous one.
    Expected<LoadedVersion> rollback(const std::string &name, const std::optional<std::string> &to, const std::string &who);
    // The active version of a plugin, mapped (from the library store after a restart).
    Expected<LoadedVersion> active(const std::string &name);

    void subscribe(Subscriber subscriber);
    store::PluginVersions &versions() { return versions_; }
    [[nodiscard]] const ContentStore &library_store() const { return libraries_; }

private:
    Expected<std::shared_ptr<const PluginLibrary>> map_locked(const store::PluginVersionRecord &record);
    Status publish_locked(const LoadedVersion &next, const std::string &action, const std::string &who);

    std::mutex mutex_;
    store::PluginVersions versions_;
    ContentStore libraries_;
    Qualifier qualify_;
    std::vector<Subscriber> subscribers_;
    std::map<std::string, LoadedVersion> active_;    // name -> active version, mapped
    std::map<std::string, LoadedVersion> last_good_; // name -> the version active before it, still mapped
};

} // namespace aicache::loader
