// `aicache eval semantic`: how well a matcher answers paraphrases from the cache without
// answering non-paraphrases, measured on questions it never trained on. Each method's threshold
// is chosen on the validation split (the lowest whose false-hit rate stays under the target) and
// then measured on the test split; the best a static threshold could do on the test split itself
// (an oracle, in the baselines' favour) is reported beside it, with the whole curve.
#pragma once

#include "core/status.hpp"
#include "learning/pairs.hpp"
#include "loader/learner_instance.hpp"
#include "loader/plugin_library.hpp"

#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace aicache::learning {

struct ScoredPair {
    double score = 0;
    int label = 0;
};

struct OperatingPoint {
    double threshold = 0;
    double hit_rate = 0;       // share of true paraphrases answered from the cache
    double false_hit_rate = 0; // share of non-paraphrases answered from the cache
    double precision = 0;      // share of answers from the cache that were right
    uint64_t true_hits = 0, false_hits = 0, positives = 0, negatives = 0;
};

// Its JSON form (an unreachable threshold, +inf, as null), shared by reports and checkpoint records.
nlohmann::json operating_point_json(const OperatingPoint &p);

OperatingPoint operate_at(const std::vector<ScoredPair> &pairs, double threshold);
// One point per distinct score, from the highest threshold down.
std::vector<OperatingPoint> hit_curve(std::vector<ScoredPair> pairs);
// The lowest threshold whose false-hit rate on `pairs` is at most `target` (above every score if
// none). With z > 0 the rate must hold at the upper end of its Wilson score interval (z = 1.645:
// one-sided 95%), so a threshold chosen on a small validation split does not overshoot on test.
double pick_threshold(const std::vector<ScoredPair> &pairs, double target, double z = 0);

struct MethodResult {
    std::string name;
    OperatingPoint chosen; // on test, at the threshold picked on validation
    OperatingPoint oracle; // the best static threshold on test itself with false-hit rate <= target
    std::vector<OperatingPoint> curve;
};

struct SemanticEvalOptions {
    double target_false_hit_rate = 0.02;
    double confidence_z = 1.645; // thresholds chosen on the validation rate's upper bound
    uint64_t train_budget_ms = 60'000;
    std::string learner_config = "{}";
    std::function<void(uint64_t trained_ms, uint64_t budget_ms)> on_progress;
    bool keep_checkpoint = false; // return the trained learner's saved state
};

struct SemanticEvalReport {
    size_t train_pairs = 0, validation_pairs = 0, test_pairs = 0;
    std::string learner;        // "encoder 1.0.0"
    std::string train_metrics;  // the learner's own report of its last training call
    double train_seconds = 0;
    std::vector<MethodResult> methods; // baselines first, the learned matcher last
    std::string checkpoint;            // the trained learner's state, when asked for
};

// Trains in one-second slices until `budget_ms` has passed (so progress shows and the budget
// holds); returns the learner's report of its last slice.
Expected<std::string> train_for(loader::LearnerInstance &learner, uint64_t budget_ms,
                                const std::function<void(uint64_t trained_ms, uint64_t budget_ms)> &on_progress = {});

// How a matching learner does on questions it never trained on: scored by its relation head
// ("match") when it has one, else by the cosine of its embeddings; the threshold is picked on
// `validation` for `target` (at the Wilson bound with z) and measured on `test`.
// Trains a learner configured with {"train_steps": N} until it has taken `steps`: each call runs
// as many as the learner does per call, and one that takes none ends it. Progress in steps.
Expected<std::string> train_by_steps(loader::LearnerInstance &learner, uint64_t steps, const std::function<void(uint64_t, uint64_t)> &progress = {});

// The area under a hit curve (highest threshold first) read as an ROC curve, by trapezoids.
double area_under(const std::vector<OperatingPoint> &curve);

// The learner's score of each pair: its relation head ("match") when it has one, else the cosine
// of its embeddings; `method` names which.
struct LearnerScores {
    std::string method;
    std::vector<ScoredPair> pairs;
};
Expected<LearnerScores> learner_scores(loader::LearnerInstance &learner, const std::vector<LabelledPair> &pairs);

Expected<MethodResult> measure_held_out(loader::LearnerInstance &learner, const std::vector<LabelledPair> &validation,
                                        const std::vector<LabelledPair> &test, double target, double z);

Expected<SemanticEvalReport> evaluate_semantic(const PairSplit &split, const std::shared_ptr<const loader::PluginLibrary> &learner,
                                               const SemanticEvalOptions &options);

} // namespace aicache::learning
