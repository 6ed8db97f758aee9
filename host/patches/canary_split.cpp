#include "patches/canary_split.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace aicache::patches {

std::vector<uint32_t> CanarySplit::choose(uint32_t shard_count, double share) {
    std::vector<uint32_t> out;
    if (shard_count < 2) return out;
    const uint32_t count = std::clamp<uint32_t>(static_cast<uint32_t>(std::lround(share * shard_count)), 1, shard_count - 1);
    for (uint32_t i = 0; i < count; ++i) out.push_back(i * shard_count / count); // spread over the key space
    return out;
}

CanarySplit::CanarySplit(const cache::Cache &cache, std::vector<uint32_t> shards, const ShardHistory *history, uint64_t baseline_lookups,
                         uint64_t minimum_baseline_lookups)
    : cache_(cache), shards_(std::move(shards)) {
    if (history != nullptr) before_ = history->before(shards_, baseline_lookups, minimum_baseline_lookups);
    start_counting();
}

void CanarySplit::start_counting() { std::tie(canary_start_, rest_start_) = totals(); }

std::pair<cache::CacheStats, cache::CacheStats> CanarySplit::totals() const {
    cache::CacheStats canary, rest;
    for (uint32_t i = 0; i < cache_.shard_count(); ++i) {
        cache::CacheStats s = cache_.shard_stats(i);
        auto &side = std::find(shards_.begin(), shards_.end(), i) != shards_.end() ? canary : rest;
        side.lookups += s.lookups;
        side.hits += s.hits;
    }
    return {canary, rest};
}

CanarySplit::Sides CanarySplit::sides() const {
    auto [canary, rest] = totals();
    return {canary.lookups - canary_start_.lookups, canary.hits - canary_start_.hits, rest.lookups - rest_start_.lookups, rest.hits - rest_start_.hits};
}

std::optional<CanarySplit::Verdict> CanarySplit::verdict(const CanaryOptions &options) const {
    Sides s = sides();
    if (s.canary_lookups < options.window_lookups || s.rest_lookups < options.window_lookups) return std::nullopt;
    const double canary_ratio = 100.0 * double(s.canary_hits) / double(s.canary_lookups);
    const double rest_ratio = 100.0 * double(s.rest_hits) / double(s.rest_lookups);
    char why[400];
    if (before_ && before_->canary.lookups > 0 && before_->rest.lookups > 0) {
        // Each side against itself before the change: what the change did, net of what the traffic did to both.
        const double canary_before = 100.0 * double(before_->canary.hits) / double(before_->canary.lookups);
        const double rest_before = 100.0 * double(before_->rest.hits) / double(before_->rest.lookups);
        const double effect = (canary_ratio - canary_before) - (rest_ratio - rest_before);
        std::snprintf(why, sizeof why,
                      "canary hit ratio %.2f%% (%.2f%% before) vs %.2f%% (%.2f%% before) on the other shards over %llu / %llu lookups: "
                      "%+.2f points net of the traffic (margin %.2f points)",
                      canary_ratio, canary_before, rest_ratio, rest_before, static_cast<unsigned long long>(s.canary_lookups),
                      static_cast<unsigned long long>(s.rest_lookups), effect, options.margin_points);
        return Verdict{effect + options.margin_points >= 0, why};
    }
    std::snprintf(why, sizeof why, "canary hit ratio %.2f%% vs %.2f%% on the other shards over %llu / %llu lookups (margin %.2f points)", canary_ratio,
                  rest_ratio, static_cast<unsigned long long>(s.canary_lookups), static_cast<unsigned long long>(s.rest_lookups), options.margin_points);
    return Verdict{canary_ratio + options.margin_points >= rest_ratio, why};
}

} // namespace aicache::patches
