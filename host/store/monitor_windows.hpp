// The knowledge repository's record of the performance monitor's windows (monitor_windows).
#pragma once

#include "core/status.hpp"
#include "store/database.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <vector>

namespace aicache::store {

struct WindowFigures {
    uint64_t start_us = 0, end_us = 0; // wall clock, µs since the epoch
    uint64_t requests = 0, hits = 0, semantic_hits = 0, misses = 0, bypasses = 0, errors = 0;
    uint64_t tokens_answered = 0, tokens_saved = 0; // tokens of every answer given / of those served from the cache
    uint64_t wrong_reports = 0, right_reports = 0;  // POST /v1/aicache/feedback verdicts
    uint32_t latency_p50_us = 0, latency_p99_us = 0;

    // Share of the requests the cache saw (hits, semantic hits, misses) that it answered.
    [[nodiscard]] double hit_ratio() const {
        const uint64_t seen = hits + semantic_hits + misses;
        return seen ? double(hits + semantic_hits) / double(seen) : 0;
    }
};

// Every figure of a window, the hit ratio included (aicache learn status --json, the control op monitor.close).
nlohmann::json to_json(const WindowFigures &window);
// The figures to_json wrote (a field it lacks is 0; the hit ratio is derived again).
WindowFigures window_from_json(const nlohmann::json &json);

class MonitorWindows {
public:
    explicit MonitorWindows(Database &db) : db_(db) {}
    Status add(const WindowFigures &window);
    // The last `count` windows, oldest first.
    Expected<std::vector<WindowFigures>> recent(size_t count);

private:
    Database &db_;
};

} // namespace aicache::store
