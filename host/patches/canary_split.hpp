// A canary's split of the cache: a share of the shards, spread over the key space, runs the
// change while the others go on as before; both sides' lookups and hits are counted from the
// moment the change went on, and the verdict compares their hit ratios once each side has seen a
// window of lookups. Patches (installer) and parameter changes (parameter_canary) are judged alike.
#pragma once

#include "cache/cache.hpp"
#include "patches/shard_history.hpp"
#include "replay/replay.hpp"

#include <mutex>
#include <optional>
#include <string>
#include <string>
#include <vector>

namespace aicache::patches {

struct CanaryOptions {
    double share = 0.25;           // of the shards (at least one, never all)
    uint64_t window_lookups = 2000; // per side before judging
    double margin_points = 2.0;     // points the canary may trail the rest by (net of the traffic, with a baseline)
    uint64_t baseline_windows = 4;  // with a shard history: the stretch before the change, in canary-side windows
    // hits: the hit ratio; tokens: the share of the tokens asked for that hits saved, estimated per
    // shard as saved / (saved + the cost of the answers fetched on misses).
    replay::Objective objective = replay::Objective::hits;
    // Windows the canary must pass, each judged on its own lookups, before it is promoted: a change
    // whose harm grows as the cache fills (one that keeps what it should let go) shows in a later
    // window and not in the first. A failed window rolls it back at once.
    uint64_t probation_windows = 1;
    // Model canaries: the canary's mean lookup may take at most this many times the serving
    // model's (0: not judged), so a more accurate but much slower encoder does not stay.
    double latency_ratio = 1.5;
};

// One canary at a time on a host: two changes on the same shards would be judged on the same
// figures. The patch installer and the parameter canary take the slot before they change a shard
// and give it back when their canary ends.
class CanarySlot {
public:
    // Takes the slot for `what` ("patch #3"); Errc::busy naming the holder when it is taken.
    Status take(const std::string &what);
    void release();

private:
    std::mutex mutex_;
    std::optional<std::string> holder_;
};

class CanarySplit {
public:
    // The canary shards for `share` of the cache's shards (the cache needs at least two); the last
    // shard is never among them, so it always shows what the host runs outside a canary.
    static std::vector<uint32_t> choose(uint32_t shard_count, double share);
    // What the host serves with outside any canary: the policy and parameters of that last shard.
    static std::shared_ptr<const loader::PluginLibrary> serving_policy(const cache::Cache &cache) {
        return cache.shard_policy(cache.shard_count() - 1);
    }
    static std::string serving_parameters(const cache::Cache &cache) {
        const std::string text = cache.shard_parameters(cache.shard_count() - 1);
        return text.empty() ? "{}" : text;
    }

    // With `history`, the verdict also compares each side with its own figures over a stretch
    // before the change (difference in differences; see patches/shard_history.hpp): up to
    // `options.baseline_windows` canary windows of it, at least one.
    CanarySplit(const cache::Cache &cache, std::vector<uint32_t> shards, const ShardHistory *history = nullptr, const CanaryOptions &options = {});
    [[nodiscard]] const std::vector<uint32_t> &shards() const noexcept { return shards_; }
    // Counts from now (call right after the change went on).
    void start_counting();

    // Both sides' counts since the change went on.
    [[nodiscard]] SplitCounts sides() const;

    struct Verdict {
        bool promote = false;
        std::string why; // the two sides' figures, the lookups and the margin, in words
    };
    // None until the canary side has seen the next window of lookups; then that window is judged:
    // a rollback if it trails, a promotion if it was the last of the probation, else none yet.
    [[nodiscard]] std::optional<Verdict> verdict(const CanaryOptions &options);
    [[nodiscard]] bool has_baseline() const noexcept { return before_.has_value(); }

private:
    SplitCounts totals() const;
    const cache::Cache &cache_;
    std::vector<uint32_t> shards_;
    SplitCounts start_;
    std::optional<SplitCounts> before_;
    SplitCounts judged_;       // since the change, at the end of the last window that passed
    uint64_t windows_passed_ = 0;
};

} // namespace aicache::patches
