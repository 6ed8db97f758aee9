// Measuring a threshold learner's parameters (the matcher's side of `tune`): a shuffled stream of
// labelled pairs is split, each candidate ({"params": {...}}) runs the learner online over the
// first part exactly as `aicache eval threshold` does (learning/threshold_eval.hpp), and the
// winner is judged on the rest beside the learner's defaults. A run is scored by the paraphrases
// it served, in points, less a penalty for false hits above δ, so a candidate cannot buy hits
// with wrong answers.
#pragma once

#include "core/status.hpp"
#include "learning/pairs.hpp"
#include "learning/search.hpp"
#include "learning/threshold_eval.hpp"
#include "loader/plugin_library.hpp"

#include <memory>
#include <string>
#include <vector>

namespace aicache::learning {

struct ThresholdTuning {
    std::shared_ptr<const loader::PluginLibrary> learner;
    std::vector<LabelledPair> tuning, held_out;
    double delta = 0.02;
    std::string base_config = "{}"; // under every candidate's parameters, and what "defaults" runs with
};

// Shuffles `pairs` with `seed` and splits them at `tune_share` (in (0, 1)).
Expected<ThresholdTuning> prepare_threshold_tuning(std::vector<LabelledPair> pairs, double tune_share, uint64_t seed, double delta,
                                                   std::shared_ptr<const loader::PluginLibrary> learner, std::string base_config);

// Each point of false-hit rate above δ costs this many points of paraphrases served.
constexpr double kFalseHitPenalty = 10;
// 100 × paraphrases served − kFalseHitPenalty × 100 × max(0, false-hit rate − δ).
double threshold_score(const ThresholdRun &run, double delta);

constexpr double kFailedThreshold = -100; // a configuration the learner refuses
Evaluator threshold_evaluator(const ThresholdTuning &setup);

struct ThresholdComparison {
    ThresholdRun defaults, tuned; // on the held-out stream
};
Expected<ThresholdComparison> judge_threshold(const ThresholdTuning &setup, const std::string &parameters);

} // namespace aicache::learning
