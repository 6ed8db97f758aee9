// Measuring a policy's parameters by replaying traffic, for the `tune` optimizer and any other that
// proposes parameter sets ({"params": {...}}): the trace is split in time, candidates are scored
// on the earlier part (tuning), and the winner is judged on the later part it was never scored on,
// beside the policy's defaults on the same requests. A score is the mean over the cache sizes of
// the hit-ratio points a parameter set gains over the defaults.
#pragma once

#include "core/status.hpp"
#include "learning/search.hpp"
#include "loader/plugin_library.hpp"
#include "replay/replay.hpp"

#include <memory>
#include <string>
#include <vector>

namespace aicache::learning {

struct ParameterReplay {
    std::shared_ptr<const loader::PluginLibrary> policy;
    replay::Trace tuning, held_out;
    std::vector<replay::CacheSize> sizes; // fixed on the whole trace, so both parts replay the same caches
    std::vector<std::string> size_names;  // as given ("1%", "10%")
    std::string trace_name;
    replay::Objective objective = replay::Objective::hits; // what "percent" and the scores measure
};

// Splits `trace` at `tune_share` of its requests (in (0, 1)).
Expected<ParameterReplay> prepare_parameter_replay(replay::Trace trace, std::string trace_name, double tune_share,
                                                   const std::vector<std::string> &sizes, std::shared_ptr<const loader::PluginLibrary> policy);

struct SizedHitRatios {
    std::vector<double> percent; // per size, by the setup's objective
    [[nodiscard]] double mean() const;
};

// The policy with `parameters` on `part` at each of the setup's sizes, counting requests
// [measure_from, measure_to) only (ReplayOptions); a policy error is an error.
Expected<std::vector<replay::ReplayResult>> replay_at_sizes(const ParameterReplay &setup, const replay::Trace &part, const std::string &parameters,
                                                            uint64_t measure_from = 0, uint64_t measure_to = UINT64_MAX);

// The policy with `parameters` (a JSON object, "{}" = its defaults) on one part of the trace.
Expected<SizedHitRatios> replay_parameters(const ParameterReplay &setup, const replay::Trace &part, const std::string &parameters);

// Scores candidates on the tuning part: mean points over the defaults (measured once). A candidate
// whose parameters the policy refuses scores kFailedParameters.
constexpr double kFailedParameters = -100;
Expected<Evaluator> parameter_evaluator(const ParameterReplay &setup);

struct HeldOutComparison {
    SizedHitRatios defaults, tuned; // on the held-out part
};
Expected<HeldOutComparison> judge_on_held_out(const ParameterReplay &setup, const std::string &parameters);

} // namespace aicache::learning
