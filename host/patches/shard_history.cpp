#include "patches/shard_history.hpp"

#include <algorithm>

namespace aicache::patches {

ShardHistory::ShardHistory(const cache::Cache &cache, size_t samples) : cache_(cache), capacity_(std::max<size_t>(samples, 2)) {}

void ShardHistory::sample() {
    std::vector<ShardCounts> now(cache_.shard_count());
    for (uint32_t i = 0; i < now.size(); ++i) now[i] = ShardCounts::of(cache_.shard_stats(i));
    std::lock_guard lock(mutex_);
    if (ring_.size() < capacity_) ring_.push_back(std::move(now));
    else ring_[next_] = std::move(now);
    next_ = (next_ + 1) % capacity_;
}

void ShardHistory::restart() {
    std::lock_guard lock(mutex_);
    ring_.clear();
    next_ = 0;
}

std::optional<SplitCounts> ShardHistory::before(const std::vector<uint32_t> &canary, uint64_t wanted, uint64_t minimum) const {
    std::lock_guard lock(mutex_);
    if (ring_.size() < 2) return std::nullopt;
    const size_t count = ring_.size();
    const size_t latest = (next_ + capacity_ - 1) % capacity_;
    auto in_canary = [&](uint32_t shard) { return std::find(canary.begin(), canary.end(), shard) != canary.end(); };
    auto sides = [&](size_t from) {
        SplitCounts b;
        for (uint32_t shard = 0; shard < ring_[latest].size() && shard < ring_[from].size(); ++shard)
            (in_canary(shard) ? b.canary : b.rest) += ring_[latest][shard] - ring_[from][shard];
        return b;
    };
    // Walk back from the latest sample to the oldest kept.
    SplitCounts longest;
    for (size_t back = 1; back < count; ++back) {
        longest = sides((latest + capacity_ - back) % capacity_);
        if (longest.canary.lookups >= wanted) return longest;
    }
    if (longest.canary.lookups >= minimum && longest.canary.lookups > 0) return longest;
    return std::nullopt;
}

} // namespace aicache::patches
