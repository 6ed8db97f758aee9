// The native API on the answer cache (get, put, list, inspect, clear, stats) as request -> JSON,
// shared by the host's control socket and by the CLI when no host is running. Values travel
// base64-encoded: exec outputs are bytes, not text.
#pragma once

#include "cache/durable_cache.hpp"
#include "cache/semantic_matcher.hpp"
#include "core/status.hpp"

#include <nlohmann/json.hpp>

#include <string>

namespace aicache::server {

// request: {"op": "cache.get" | "cache.put" | "cache.outcome" | "cache.list" | "cache.inspect" | "cache.clear" | "cache.stats", ...}
// With a matcher, cache.get and cache.put may carry "question" (text) and "scope" (hex: what else
// must match): an exact miss then looks for a cached paraphrase in the scope. The answer names the
// candidate; one the threshold learner did not let through comes with the cached value
// ("cached_value_b64") so the caller can compare it with the fresh answer and report it with
// cache.outcome {"candidate": ..., "right": true|false}.
Expected<nlohmann::json> handle_cache_request(cache::DurableCache &cache, const nlohmann::json &request, cache::SemanticMatcher *matcher = nullptr);

std::string to_base64(std::string_view bytes);
Expected<std::string> from_base64(std::string_view text);

} // namespace aicache::server
