// The knowledge repository's record of plugin versions: every version ever loaded (content hash,
// ABI, version string, when and by whom), which one is active per plugin name, and the history
// of loads, activations and rollbacks.
#pragma once

#include "core/status.hpp"
#include "store/database.hpp"

#include <optional>
#include <string>
#include <vector>

namespace aicache::store {

struct PluginVersionRecord {
    int64_t id = 0;
    std::string name, kind, version, content_hash, state_format, source_path, loaded_at, loaded_by;
    int abi_major = 0, abi_minor = 0;
};

struct PluginEvent {
    int64_t id = 0;
    std::string name, action, at, by, note;
    PluginVersionRecord version;
};

class PluginVersions {
public:
    explicit PluginVersions(Database &db) : db_(db) {}

    // Records a version (or finds the existing record for the same name and content).
    Expected<PluginVersionRecord> record(PluginVersionRecord version);
    // Makes `version_id` the active version of its plugin and logs the event.
    Status activate(int64_t version_id, const std::string &action, const std::string &by, const std::string &note = "");

    Expected<std::vector<PluginVersionRecord>> active();
    Expected<std::optional<PluginVersionRecord>> active(const std::string &name);
    Expected<std::vector<PluginEvent>> history(const std::string &name);
    // Resolves "--to": a record id ("7" or "#7"), a content-hash prefix (>= 6 hex digits) or a version string.
    Expected<PluginVersionRecord> resolve(const std::string &name, const std::string &spec);
    // The version that was active before the current one.
    Expected<PluginVersionRecord> previous(const std::string &name);

private:
    Expected<std::vector<PluginVersionRecord>> select(const std::string &where, const std::vector<SqlValue> &params);
    Database &db_;
};

std::string utc_now_iso8601();

} // namespace aicache::store
