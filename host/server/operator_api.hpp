// The operator API on plugin versions (list, load, history, rollback) as request -> text, shared by
// the host's control socket and by the CLI when no host is running.
#pragma once

#include "core/status.hpp"
#include "loader/plugin_host.hpp"

#include <nlohmann/json.hpp>

#include <string>

namespace aicache::patches {
class AuditLog;
}

namespace aicache::server {

// request: {"op": "plugin.list" | "plugin.load" | "plugin.history" | "plugin.rollback", ...}
// Loads and rollbacks are appended to `audit` (the patches' hash-chained log) when given.
Expected<std::string> handle_plugin_request(loader::PluginHost &host, const nlohmann::json &request, patches::AuditLog *audit = nullptr);

} // namespace aicache::server
