#include "patches/classical_baseline.hpp"

#include "core/files.hpp"
#include "replay/replay.hpp"

#include <algorithm>

namespace aicache::patches {

Expected<ClassicalBaseline> measure_classical_baseline(const std::vector<std::string> &traces, const std::vector<std::string> &sizes,
                                                       const std::vector<std::shared_ptr<const loader::PluginLibrary>> &classical,
                                                       const std::function<void(const std::string &)> &progress, uint32_t chunks) {
    if (traces.empty() || sizes.empty()) return Status(Errc::invalid_argument, "the classical baseline needs at least one trace and one size");
    if (classical.empty()) return Status(Errc::not_found, "no classical policy plugins to measure the baseline with");
    ClassicalBaseline baseline{traces, sizes, {}};
    for (const auto &path : traces) {
        auto trace = replay::read_trace(path);
        if (!trace) return trace.error().with_context(path);
        for (const auto &size : sizes) {
            auto capacity = replay::parse_cache_size(size, *trace);
            if (!capacity) return capacity.error().with_context(size);
            replay::ReplayOptions options;
            options.capacity_bytes = capacity->amount;
            options.count_objects = capacity->objects;
            options.chunks = chunks;
            BaselineCell cell{path, size, "", 0, {}};
            for (const auto &policy : classical) {
                if (progress) progress(trace->name + " @ " + size + ": " + policy->facts().name);
                auto result = replay::run_replay(*trace, policy, options);
                if (!result) return result.error().with_context(policy->facts().name + " on " + path);
                if (cell.policy.empty() || result->hit_ratio() > cell.hit_ratio)
                    cell.policy = policy->facts().name, cell.hit_ratio = result->hit_ratio(), cell.chunk_hits = std::move(result->chunk_hits);
            }
            baseline.cells.push_back(cell);
        }
    }
    return baseline;
}

PatchScore score_against_baseline(PatchPipeline &pipeline, const nlohmann::json &candidate, const SubmitOptions &options,
                                  const std::filesystem::path &templates, const ClassicalBaseline &baseline) {
    SubmitOptions first = options;
    first.trial.trace = baseline.traces.front();
    first.trial.sizes = baseline.sizes;
    PatchScore scored = submit_candidate(pipeline, candidate, first, templates);
    if (scored.score <= kFailedPatchScore || !scored.patch_id) return scored;

    // The hit ratio of the patch at every (trace, size), trace-major like the baseline's cells.
    std::vector<double> ratios;
    for (const auto &row : scored.per_size) ratios.push_back(row.value("hit_ratio", 0.0));
    auto failed = [&](const std::string &why) {
        PatchScore out;
        out.patch_id = scored.patch_id;
        out.outcome = "rejected: " + why;
        return out;
    };
    if (ratios.size() != baseline.sizes.size()) return failed("trial: " + std::to_string(ratios.size()) + " sizes measured");
    if (baseline.traces.size() > 1) {
        auto patch = pipeline.records().get(*scored.patch_id);
        if (!patch) return failed("patch record: " + patch.error().message());
        auto object = read_file(pipeline.object_path(patch->object_sha256));
        if (!object) return failed("object: " + object.error().message());
        for (size_t t = 1; t < baseline.traces.size(); ++t) {
            TrialOptions trial = options.trial;
            trial.trace = baseline.traces[t];
            trial.sizes = baseline.sizes;
            trial.incumbent = "lru"; // only the candidate's figures are used; the cheapest incumbent
            TrialResult ran = run_trial(trial, *object, "patch-" + std::to_string(*scored.patch_id));
            if (!ran.passed())
                return failed("trial on " + baseline.traces[t] + ": " + (ran.outcome != sandbox::Outcome::ok ? ran.reason : ran.failure));
            if (ran.comparisons.size() != baseline.sizes.size()) return failed("trial on " + baseline.traces[t] + ": sizes missing");
            for (const auto &c : ran.comparisons) ratios.push_back(c.candidate_hit_ratio());
        }
    }

    PatchScore out;
    out.patch_id = scored.patch_id;
    out.outcome = scored.outcome;
    double total = 0, worst = 0;
    std::string traces;
    for (size_t t = 0; t < baseline.traces.size(); ++t) {
        traces += (t ? "," : "") + std::filesystem::path(baseline.traces[t]).filename().string();
        for (size_t s = 0; s < baseline.sizes.size(); ++s) {
            const BaselineCell &cell = baseline.at(t, s);
            const double ratio = ratios[t * baseline.sizes.size() + s];
            const double gain = 100 * (ratio - cell.hit_ratio);
            total += gain;
            worst = (t == 0 && s == 0) ? gain : std::min(worst, gain);
            out.per_size.push_back({{"trace", cell.trace}, {"size", cell.size}, {"hit_ratio", ratio}, {"best_classical", cell.policy},
                                    {"best_classical_hit_ratio", cell.hit_ratio}, {"gain_points", gain}});
        }
    }
    const double mean = total / double(baseline.cells.size());
    out.score = baseline.score == BaselineScore::worst_first ? (worst < 0 ? worst : mean) : (mean + worst) / 2;
    std::string sizes;
    for (const auto &s : baseline.sizes) sizes += (sizes.empty() ? "" : ",") + s;
    out.split = traces + " @ " + sizes + " vs the best classical policy" + (baseline.score == BaselineScore::worst_first ? " (worst first)" : "");
    return out;
}

} // namespace aicache::patches
