// The native API on the answer cache (get, put, list, inspect, clear, stats) as request -> JSON,
// shared by the host's control socket and by the CLI when no host is running. Values travel
// base64-encoded: exec outputs are bytes, not text.
#pragma once

#include "cache/durable_cache.hpp"
#include "core/status.hpp"

#include <nlohmann/json.hpp>

#include <string>

namespace aicache::server {

// request: {"op": "cache.get" | "cache.put" | "cache.list" | "cache.inspect" | "cache.clear" | "cache.stats", ...}
Expected<nlohmann::json> handle_cache_request(cache::DurableCache &cache, const nlohmann::json &request);

std::string to_base64(std::string_view bytes);
Expected<std::string> from_base64(std::string_view text);

} // namespace aicache::server
