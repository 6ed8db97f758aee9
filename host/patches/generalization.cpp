#include "patches/generalization.hpp"

#include "replay/belady.hpp"
#include "replay/replay.hpp"

#include <algorithm>

namespace aicache::patches {

Expected<std::vector<GeneralizationRow>> judge_generalization(std::string_view object, const std::string &label, const GeneralizationOptions &options) {
    std::vector<GeneralizationRow> rows;
    for (const auto &path : options.traces) {
        auto trace = replay::read_trace(path);
        if (!trace) return trace.error().with_context(path);
        if (options.progress) options.progress(trace->name + ": the patch in its trial");
        TrialOptions trial = options.trial;
        trial.trace = path;
        trial.sizes = options.sizes;
        TrialResult ran = run_trial(trial, object, label);
        if (!ran.passed()) return Status(Errc::internal, label + " on " + path + ": " + (ran.outcome != sandbox::Outcome::ok ? ran.reason : ran.failure));
        const bool trained = std::find(options.trained_on.begin(), options.trained_on.end(), path) != options.trained_on.end();
        for (size_t s = 0; s < options.sizes.size() && s < ran.comparisons.size(); ++s) {
            GeneralizationRow row;
            row.trace = path, row.size = options.sizes[s], row.trained_on = trained;
            row.patch_ratio = ran.comparisons[s].candidate_hit_ratio();
            auto capacity = replay::parse_cache_size(options.sizes[s], *trace);
            if (!capacity) return capacity.error();
            replay::ReplayOptions replay_options;
            replay_options.capacity_bytes = capacity->amount;
            replay_options.count_objects = capacity->objects;
            for (const auto &policy : options.classical) {
                if (options.progress) options.progress(trace->name + " @ " + row.size + ": " + policy->facts().name);
                auto result = replay::run_replay(*trace, policy, replay_options);
                if (!result) return result.error().with_context(policy->facts().name + " on " + path);
                if (result->hit_ratio() > row.best_classical_ratio || row.best_classical.empty())
                    row.best_classical = policy->facts().name, row.best_classical_ratio = result->hit_ratio();
            }
            row.belady_ratio = replay::run_belady(*trace, capacity->amount, capacity->objects).hit_ratio();
            rows.push_back(row);
        }
    }
    return rows;
}

} // namespace aicache::patches
