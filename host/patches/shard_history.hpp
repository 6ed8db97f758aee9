// Each shard's lookup and hit counts, sampled over time in a bounded ring, so a canary can compare
// its shards with their own figures from just before the change (difference in differences), not
// only with the other shards: keys are not spread evenly by popularity, so one shard's hit ratio
// differs from another's with no change at all, and traffic drifts for both sides alike.
#pragma once

#include "cache/cache.hpp"

#include <cstdint>
#include <mutex>
#include <optional>
#include <vector>

namespace aicache::patches {

class ShardHistory {
public:
    explicit ShardHistory(const cache::Cache &cache, size_t samples = 4096);
    // Takes a sample now (serve: every 200 ms, on the canary judge's thread).
    void sample();

    struct Counts {
        uint64_t lookups = 0, hits = 0, cost_hit = 0, cost_offered = 0;
    };
    struct Before {
        Counts canary, rest; // over the same stretch, which ends at the latest sample
    };
    // Both sides' counts over the shortest recent stretch in which the `canary` shards saw at least
    // `wanted` lookups, or the longest kept if they saw fewer; none when that is under `minimum`.
    [[nodiscard]] std::optional<Before> before(const std::vector<uint32_t> &canary, uint64_t wanted, uint64_t minimum) const;
    // Forgets the samples so far: a change just ended, and what its shards did under it is no
    // baseline for the next one.
    void restart();

private:
    const cache::Cache &cache_;
    const size_t capacity_;
    mutable std::mutex mutex_;
    std::vector<std::vector<Counts>> ring_; // [sample][shard]
    size_t next_ = 0;
    bool full_ = false;
};

} // namespace aicache::patches
