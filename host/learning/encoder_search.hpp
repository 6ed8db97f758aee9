// How the nas optimizer's candidates are measured (`aicache optimize run nas --measure encoder`):
// each candidate is a learner configuration (an architecture, training hyperparameters) trained
// for its steps on the training questions of a pairs file, optionally continuing from an earlier
// candidate's checkpoint (population-based training), then scored on the validation questions by
// accuracy (ROC AUC of its pair scores) and inference latency (µs to embed one question, what a
// lookup pays), weighed as MnasNet does (Tan et al., CVPR 2019): reward = AUC x (latency /
// target)^w above the target, AUC below it. The test questions are kept for judging the winner.
#pragma once

#include "core/status.hpp"
#include "learning/pairs.hpp"
#include "learning/search.hpp"
#include "learning/semantic_eval.hpp"
#include "loader/plugin_library.hpp"

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace aicache::learning {

struct EncoderSearchOptions {
    double latency_target_us = 20;
    double latency_weight = -0.07; // MnasNet's soft constraint
    std::string base_config = "{}"; // under every candidate's params
    // PBT members' checkpoints, one file per candidate id; the candidates' "keep" lists say which
    // the search still needs, and the others are deleted after each trial.
    std::filesystem::path checkpoints;
    std::function<void(const std::string &step, uint64_t done, uint64_t total)> on_progress;
};

// What one trained configuration measured.
struct EncoderMeasurement {
    double auc = 0;        // on the pairs it was scored on, in [0, 1]
    double latency_us = 0; // µs to embed one question, one at a time (see embed_latency_us)
    uint64_t steps = 0;    // trained in this trial
    std::string train_metrics;
};

// The reward the search maximises, in points (100 x AUC, discounted for latency over the target).
double encoder_reward(const EncoderMeasurement &m, const EncoderSearchOptions &options);

// Up to 200 distinct questions of the pairs: what latency is measured on (search and judge alike).
std::vector<std::string> latency_questions(const std::vector<LabelledPair> &pairs);

// µs per question of embedding `questions` one at a time: the fastest round (the least disturbed
// by whatever else the machine runs) of at least kLatencyMinRounds over kLatencyMeasureMs, after
// kLatencyWarmupMs of rounds not counted.
constexpr int kLatencyWarmupMs = 150, kLatencyMeasureMs = 250, kLatencyMinRounds = 10;
Expected<double> embed_latency_us(loader::LearnerInstance &learner, const std::vector<std::string> &questions);

// A score for nas's candidates (see above); `split` must outlive the evaluator. A candidate that cannot be built or trained (a
// configuration the learner refuses, a checkpoint that is gone) scores kFailedEncoder.
constexpr double kFailedEncoder = -1;
Evaluator encoder_evaluator(const std::shared_ptr<const loader::PluginLibrary> &learner, const PairSplit &split, EncoderSearchOptions options);

// The learner configuration a candidate trains with: base, then its params, then its steps; from
// random start `start` > 0, the seed moved on by that many (start 0 keeps the configured seed).
std::string encoder_config(const std::string &base, const nlohmann::json &candidate, uint64_t start = 0);

// A trained learner for `candidate`: from its checkpoint if the search kept one, else trained
// again from scratch (a candidate that continued from a checkpoint that is gone cannot be).
Expected<loader::LearnerInstance> trained_encoder(const std::shared_ptr<const loader::PluginLibrary> &learner, const PairSplit &split,
                                                  const nlohmann::json &candidate, const EncoderSearchOptions &options);

// Trials that no other trial beats on both AUC and latency, from their recorded details.
std::vector<store::TrialRecord> accuracy_latency_front(const std::vector<store::TrialRecord> &trials);

} // namespace aicache::learning
