#include "patches/generalization.hpp"

#include "patches/classical_baseline.hpp"

#include "replay/belady.hpp"
#include "replay/replay.hpp"

#include <algorithm>

namespace aicache::patches {

Expected<std::vector<GeneralizationRow>> judge_generalization(std::string_view object, const std::string &label, const GeneralizationOptions &options) {
    auto baseline = measure_classical_baseline(options.traces, options.sizes, options.classical, options.progress, options.chunks);
    if (!baseline) return baseline.error();
    std::vector<GeneralizationRow> rows;
    for (size_t t = 0; t < options.traces.size(); ++t) {
        const std::string &path = options.traces[t];
        auto trace = replay::read_trace(path);
        if (!trace) return trace.error().with_context(path);
        if (options.progress) options.progress(trace->name + ": the patch in its trial");
        TrialOptions trial = options.trial;
        trial.trace = path;
        trial.sizes = options.sizes;
        trial.chunks = options.chunks;
        TrialResult ran = run_trial(trial, object, label);
        if (!ran.passed()) return Status(Errc::internal, label + " on " + path + ": " + (ran.outcome != sandbox::Outcome::ok ? ran.reason : ran.failure));
        const bool trained = std::find(options.trained_on.begin(), options.trained_on.end(), path) != options.trained_on.end();
        for (size_t s = 0; s < options.sizes.size() && s < ran.comparisons.size(); ++s) {
            const BaselineCell &best = baseline->at(t, s);
            GeneralizationRow row;
            row.trace = path, row.size = options.sizes[s], row.trained_on = trained;
            row.patch_ratio = ran.comparisons[s].candidate_hit_ratio();
            row.best_classical = best.policy, row.best_classical_ratio = best.hit_ratio;
            auto capacity = replay::parse_cache_size(options.sizes[s], *trace);
            if (!capacity) return capacity.error();
            row.belady_ratio = replay::run_belady(*trace, capacity->amount, capacity->objects).hit_ratio();
            if (options.chunks >= 2) {
                auto difference = replay::paired_difference(ran.comparisons[s].candidate_chunk_hits, best.chunk_hits, ran.comparisons[s].requests);
                if (!difference) return difference.error().with_context(label + " on " + path + " at " + options.sizes[s]);
                row.versus_best = *difference;
            }
            rows.push_back(row);
        }
    }
    return rows;
}

} // namespace aicache::patches
