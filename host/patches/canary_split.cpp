#include "patches/canary_split.hpp"

#include <algorithm>
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

CanarySplit::CanarySplit(const cache::Cache &cache, std::vector<uint32_t> shards, const ShardHistory *history, const CanaryOptions &options)
    : cache_(cache), shards_(std::move(shards)) {
    if (history != nullptr) before_ = history->before(shards_, options.baseline_windows * options.window_lookups, options.window_lookups);
    start_counting();
}

void CanarySplit::start_counting() { start_ = totals(); }

SplitCounts CanarySplit::totals() const {
    SplitCounts out;
    for (uint32_t i = 0; i < cache_.shard_count(); ++i)
        (std::find(shards_.begin(), shards_.end(), i) != shards_.end() ? out.canary : out.rest) += ShardCounts::of(cache_.shard_stats(i));
    return out;
}

SplitCounts CanarySplit::sides() const { return totals() - start_; }

std::optional<CanarySplit::Verdict> CanarySplit::verdict(const CanaryOptions &options) {
    const SplitCounts now = sides();
    const SplitCounts s = now - judged_; // this window's lookups only: since the last window that passed
    if (s.canary.lookups < options.window_lookups || s.rest.lookups < options.window_lookups) return std::nullopt;
    const auto o = options.objective;
    const char *figure = replay::figure_of(o);
    const double canary_ratio = s.canary.percent(o), rest_ratio = s.rest.percent(o);
    const uint64_t probation = std::max<uint64_t>(1, options.probation_windows);
    const std::string window = probation > 1 ? fmt::format("window {} of {}: ", windows_passed_ + 1, probation) : std::string();
    std::string why;
    bool passed;
    if (before_ && before_->canary.lookups > 0 && before_->rest.lookups > 0) {
        // Each side against itself before the change: what the change did, net of what the traffic did to both.
        const double canary_before = before_->canary.percent(o), rest_before = before_->rest.percent(o);
        const double effect = (canary_ratio - canary_before) - (rest_ratio - rest_before);
        why = fmt::format("{}canary {} {:.2f}% ({:.2f}% before) vs {:.2f}% ({:.2f}% before) on the other shards over {} / {} lookups: "
                          "{:+.2f} points net of the traffic (margin {:.2f} points)",
                          window, figure, canary_ratio, canary_before, rest_ratio, rest_before, s.canary.lookups, s.rest.lookups, effect,
                          options.margin_points);
        passed = effect + options.margin_points >= 0;
    } else {
        why = fmt::format("{}canary {} {:.2f}% vs {:.2f}% on the other shards over {} / {} lookups (margin {:.2f} points)", window, figure,
                          canary_ratio, rest_ratio, s.canary.lookups, s.rest.lookups, options.margin_points);
        passed = canary_ratio + options.margin_points >= rest_ratio;
    }
    if (!passed) return Verdict{false, why};
    judged_ = now;
    if (++windows_passed_ < probation) return std::nullopt;
    return Verdict{true, why};
}

} // namespace aicache::patches
