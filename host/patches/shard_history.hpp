// Each shard's lookup and hit counts, sampled over time in a bounded ring, so a canary can compare
// its shards with their own figures from just before the change (difference in differences), not
// only with the other shards: keys are not spread evenly by popularity, so one shard's hit ratio
// differs from another's with no change at all, and traffic drifts for both sides alike.
#pragma once

#include "cache/cache.hpp"
#include "replay/replay.hpp"

#include <cstdint>
#include <mutex>
#include <optional>
#include <vector>

namespace aicache::patches {

// Counts of some shards over some stretch of time.
struct ShardCounts {
    uint64_t lookups = 0, hits = 0, cost_hit = 0, cost_offered = 0;
    static ShardCounts of(const cache::CacheStats &s) { return {s.lookups, s.hits, s.cost_hit, s.cost_offered}; }
    ShardCounts &operator+=(const ShardCounts &o) {
        lookups += o.lookups, hits += o.hits, cost_hit += o.cost_hit, cost_offered += o.cost_offered;
        return *this;
    }
    ShardCounts operator-(const ShardCounts &o) const { return {lookups - o.lookups, hits - o.hits, cost_hit - o.cost_hit, cost_offered - o.cost_offered}; }
    // In percent: the hit ratio, or the share of the tokens asked for that hits saved, estimated as
    // saved / (saved + the cost of the answers fetched on misses).
    [[nodiscard]] double percent(replay::Objective objective) const {
        if (objective == replay::Objective::tokens) return cost_hit + cost_offered ? 100.0 * double(cost_hit) / double(cost_hit + cost_offered) : 0;
        return lookups ? 100.0 * double(hits) / double(lookups) : 0;
    }
};

// The canary shards' counts and the other shards', over the same stretch.
struct SplitCounts {
    ShardCounts canary, rest;
    SplitCounts operator-(const SplitCounts &o) const { return {canary - o.canary, rest - o.rest}; }
};

class ShardHistory {
public:
    explicit ShardHistory(const cache::Cache &cache, size_t samples = 4096);
    // Takes a sample now (serve: every 200 ms, on the canary judge's thread).
    void sample();

    // Both sides' counts over the shortest recent stretch (ending at the latest sample) in which the
    // `canary` shards saw at least `wanted` lookups, or the longest kept if they saw fewer; none
    // when that is under `minimum`.
    [[nodiscard]] std::optional<SplitCounts> before(const std::vector<uint32_t> &canary, uint64_t wanted, uint64_t minimum) const;
    // Forgets the samples so far: a change just ended, and what its shards did under it is no
    // baseline for the next one.
    void restart();

private:
    const cache::Cache &cache_;
    const size_t capacity_;
    mutable std::mutex mutex_;
    std::vector<std::vector<ShardCounts>> ring_; // [sample][shard]
    size_t next_ = 0;                            // where the next sample goes once the ring is full
};

} // namespace aicache::patches
