// Drives the cache core through a trace and measures it: every request is a lookup, every miss
// an insert of the object's size and cost, exactly as the data plane would see it.
#pragma once

#include "cache/cache.hpp"
#include "core/status.hpp"
#include "loader/plugin_library.hpp"
#include "replay/trace.hpp"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace aicache::replay {

// Which model of the cache a replay drives. Both make the same policy calls and give the same hits
// (tested); the simulator is several times lighter, the cache is the data plane's own code path.
enum class Engine { simulator, cache };

struct ReplayOptions {
    // Several shards or a swap mid-run always go through the cache.
    Engine engine = Engine::simulator;
    uint64_t capacity_bytes = 0;
    // Count objects instead of bytes: every entry occupies one unit and capacity_bytes is a count.
    bool count_objects = false;
    uint32_t shards = 1; // one shard reproduces a policy's textbook behaviour exactly
    std::string policy_parameters;
    // Optional hot swap mid-run: after `swap_after` requests the cache moves to `swap_to`.
    uint64_t swap_after = 0;
    std::shared_ptr<const loader::PluginLibrary> swap_to;
    // Only requests [measure_from, measure_to) are counted in the result; the ones before warm the
    // cache, the ones after are not replayed. A swap's first window or one chunk of a longer trace
    // is measured from the cache the requests before it left.
    uint64_t measure_from = 0, measure_to = UINT64_MAX;
    // > 0: the measured requests are also cut into this many consecutive chunks of (nearly) equal
    // length, and the hits of each are counted (ReplayResult::chunk_hits), so that two replays of
    // one trace can be compared chunk by chunk (replay/paired_difference.hpp).
    uint32_t chunks = 0;
    std::function<void(uint64_t done, uint64_t total)> progress; // called every 64 Ki requests
};

// What a replay is judged by: the share of requests answered from the cache (hits), or the share
// of their cost it saved (tokens: hits weighted by what a miss costs; for traces without costs
// every request costs 1 and the two agree).
enum class Objective { hits, tokens };
const char *to_string(Objective objective) noexcept;  // "hits", "tokens": the names options and records use
const char *figure_of(Objective objective) noexcept;  // "hit ratio", "tokens saved": what a report says

struct ReplayResult {
    std::string policy;
    uint64_t capacity_bytes = 0;
    bool capacity_in_objects = false; // capacity_bytes counts objects
    uint64_t requests = 0, hits = 0;
    uint64_t bytes_requested = 0, bytes_hit = 0;
    uint64_t cost_requested = 0, cost_hit = 0;
    uint64_t evictions = 0, expirations = 0, refused = 0, policy_errors = 0, warm_swaps = 0, cold_swaps = 0;
    std::vector<uint64_t> chunk_hits; // with ReplayOptions::chunks: the hits of each chunk, in order
    double seconds = 0;
    [[nodiscard]] double hit_ratio() const { return requests ? double(hits) / double(requests) : 0; }
    [[nodiscard]] double byte_hit_ratio() const { return bytes_requested ? double(bytes_hit) / double(bytes_requested) : 0; }
    // Hits weighted by what a miss costs (tokens of an LLM answer), the figure aicache optimizes.
    [[nodiscard]] double cost_hit_ratio() const { return cost_requested ? double(cost_hit) / double(cost_requested) : 0; }
    [[nodiscard]] double ratio(Objective objective) const { return objective == Objective::tokens ? cost_hit_ratio() : hit_ratio(); }
    [[nodiscard]] double requests_per_second() const { return seconds > 0 ? double(requests) / seconds : 0; }
};

Expected<ReplayResult> run_replay(const Trace &trace, std::shared_ptr<const loader::PluginLibrary> policy,
                                  const ReplayOptions &options);

// "1048576", "64KiB"/"64K", "2MiB"/"2M", "1GiB"/"1G", or "10%" of the trace's footprint.
Expected<uint64_t> parse_capacity(const std::string &text, uint64_t footprint_bytes);

// A replay size: bytes as parse_capacity reads them, or objects: "5000obj", "10%obj" (a share of
// the trace's distinct objects).
struct CacheSize {
    uint64_t amount = 0;
    bool objects = false;
};
Expected<CacheSize> parse_cache_size(const std::string &text, const Trace &trace);

} // namespace aicache::replay
