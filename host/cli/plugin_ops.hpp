// Operator requests on plugin versions, answered by a running host over its control socket or,
// when no host runs, directly against the data directory. Both paths produce the same text.
#pragma once

#include "core/status.hpp"
#include "loader/plugin_host.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>

namespace aicache::cli {

// Sends the request to the host listening on <data>/control.sock, or performs it offline.
Expected<std::string> plugin_request(const std::filesystem::path &data, const nlohmann::json &request);

// The qualifier every operator path uses: `aicache __qualify` in a child process, unless the same
// bytes already passed under the same binary (loader/qualification_cache.hpp).
loader::PluginHost::Qualifier child_qualifier();

} // namespace aicache::cli
