#include "patches/canary_split.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <fmt/format.h>

namespace aicache::patches {

Status CanarySlot::take(const std::string &what) {
    std::lock_guard lock(mutex_);
    if (holder_) return Status(Errc::busy, *holder_ + " is on canary; wait for its verdict or roll it back");
    holder_ = what;
    return Status::ok();
}

void CanarySlot::release() {
    std::lock_guard lock(mutex_);
    holder_.reset();
}

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
        side.cost_hit += s.cost_hit;
        side.cost_offered += s.cost_offered;
    }
    return {canary, rest};
}

CanarySplit::Sides CanarySplit::sides() const {
    auto [canary, rest] = totals();
    return {canary.lookups - canary_start_.lookups,         canary.hits - canary_start_.hits,
            rest.lookups - rest_start_.lookups,             rest.hits - rest_start_.hits,
            canary.cost_hit - canary_start_.cost_hit,       canary.cost_offered - canary_start_.cost_offered,
            rest.cost_hit - rest_start_.cost_hit,           rest.cost_offered - rest_start_.cost_offered};
}

namespace {

// A side's figure in percent by the objective: the hit ratio, or the share of tokens saved.
double percent(replay::Objective objective, uint64_t lookups, uint64_t hits, uint64_t cost_hit, uint64_t cost_offered) {
    if (objective == replay::Objective::tokens) return cost_hit + cost_offered ? 100.0 * double(cost_hit) / double(cost_hit + cost_offered) : 0;
    return lookups ? 100.0 * double(hits) / double(lookups) : 0;
}

} // namespace

std::optional<CanarySplit::Verdict> CanarySplit::verdict(const CanaryOptions &options) {
    const Sides now = sides();
    // This window's lookups only: the counts since the last window that passed.
    Sides s{now.canary_lookups - judged_.canary_lookups,         now.canary_hits - judged_.canary_hits,
            now.rest_lookups - judged_.rest_lookups,             now.rest_hits - judged_.rest_hits,
            now.canary_cost_hit - judged_.canary_cost_hit,       now.canary_cost_offered - judged_.canary_cost_offered,
            now.rest_cost_hit - judged_.rest_cost_hit,           now.rest_cost_offered - judged_.rest_cost_offered};
    if (s.canary_lookups < options.window_lookups || s.rest_lookups < options.window_lookups) return std::nullopt;
    const auto o = options.objective;
    const char *figure = o == replay::Objective::tokens ? "tokens saved" : "hit ratio";
    const double canary_ratio = percent(o, s.canary_lookups, s.canary_hits, s.canary_cost_hit, s.canary_cost_offered);
    const double rest_ratio = percent(o, s.rest_lookups, s.rest_hits, s.rest_cost_hit, s.rest_cost_offered);
    const uint64_t probation = std::max<uint64_t>(1, options.probation_windows);
    const std::string window = probation > 1 ? fmt::format("window {} of {}: ", windows_passed_ + 1, probation) : std::string();
    std::string why;
    bool passed;
    if (before_ && before_->canary.lookups > 0 && before_->rest.lookups > 0) {
        // Each side against itself before the change: what the change did, net of what the traffic did to both.
        const auto &c = before_->canary, &r = before_->rest;
        const double canary_before = percent(o, c.lookups, c.hits, c.cost_hit, c.cost_offered);
        const double rest_before = percent(o, r.lookups, r.hits, r.cost_hit, r.cost_offered);
        const double effect = (canary_ratio - canary_before) - (rest_ratio - rest_before);
        why = fmt::format("{}canary {} {:.2f}% ({:.2f}% before) vs {:.2f}% ({:.2f}% before) on the other shards over {} / {} lookups: "
                          "{:+.2f} points net of the traffic (margin {:.2f} points)",
                          window, figure, canary_ratio, canary_before, rest_ratio, rest_before, s.canary_lookups, s.rest_lookups, effect,
                          options.margin_points);
        passed = effect + options.margin_points >= 0;
    } else {
        why = fmt::format("{}canary {} {:.2f}% vs {:.2f}% on the other shards over {} / {} lookups (margin {:.2f} points)", window, figure,
                          canary_ratio, rest_ratio, s.canary_lookups, s.rest_lookups, options.margin_points);
        passed = canary_ratio + options.margin_points >= rest_ratio;
    }
    if (!passed) return Verdict{false, why};
    judged_ = now;
    if (++windows_passed_ < probation) return std::nullopt;
    return Verdict{true, why};
}

} // namespace aicache::patches
