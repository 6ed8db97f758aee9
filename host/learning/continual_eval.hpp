// Two measurements of how a matching learner carries what it learned from one body of questions
// to another, both on questions held out from every training run:
//   drift: train on domain A, then on domain B three ways from the same A checkpoint (naive
//   fine-tuning, with replay of remembered A pairs, with replay and elastic weight consolidation)
//   and report what each forgot of A and learned of B;
//   transfer: pretrain on a large set, then fine-tune on n labelled target pairs, against training
//   on the same n pairs from scratch, for several n (the learning curve).
// The learner chooses how it continues through its configuration: "replay" (0 or 1, mix remembered
// pairs into training) and "ewc_lambda" (the consolidation strength; 0: none), with the memory
// and the consolidation anchor carried in its checkpoint.
#pragma once

#include "core/status.hpp"
#include "learning/pairs.hpp"
#include "learning/semantic_eval.hpp"
#include "loader/plugin_library.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace aicache::learning {

// done and total are milliseconds, or steps under a step budget.
using StepProgress = std::function<void(const std::string &step, uint64_t done, uint64_t total)>;

struct HeldOut {
    OperatingPoint a, b; // on each domain's test questions
    double auc_a = 0, auc_b = 0; // the area under each test set's whole hit curve (ROC): no threshold to choose
};

// What both measurements share: how held-out hits are measured, the learner's base configuration.
struct ContinualOptions {
    double target_false_hit_rate = 0.02, confidence_z = 1.645;
    std::string learner_config = "{}";
    StepProgress on_progress;
};

struct DriftOptions : ContinualOptions {
    uint64_t budget_a_ms = 120'000, budget_b_ms = 60'000;
    // Training steps on A and on B (each mode), instead of the budgets in milliseconds: the learner
    // is configured with "train_steps" and trained until it reports that it has taken them all, so a
    // run does not depend on how busy the machine is. 0: the budgets in milliseconds.
    uint64_t steps_a = 0, steps_b = 0;
    double ewc_lambda = 1000;
    std::optional<uint64_t> learner_seed; // the learner's "seed" (initialisation, sampling), over learner_config's
};

struct DriftRow {
    std::string mode; // naive, replay, replay+ewc
    HeldOut after_b;
    std::string train_metrics;
};

struct DriftReport {
    HeldOut after_a;
    std::string after_a_metrics;
    std::vector<DriftRow> rows;
    std::string method; // what scores the pairs (relation head or cosine)
};

Expected<DriftReport> evaluate_drift(const PairSplit &a, const PairSplit &b, const std::shared_ptr<const loader::PluginLibrary> &learner,
                                     const DriftOptions &options);

// Mean and sample standard deviation (0 for one value), in the values' unit.
struct Spread {
    double mean = 0, sd = 0;
    size_t n = 0;
};
Spread spread_of(const std::vector<double> &values);

// Repeated drift runs (each with its own seed) summarised per mode, in points: held-out hit rate
// on A and B after B, and forgetting = A after A - A after B.
struct DriftModeSummary {
    std::string mode;
    Spread a, b, forgetting, auc_forgetting; // auc_forgetting: in points of area
};
struct DriftSummary {
    Spread a_after_a, b_after_a;
    std::vector<DriftModeSummary> modes;
};
DriftSummary summarize_drift(const std::vector<DriftReport> &runs);

struct TransferOptions : ContinualOptions {
    uint64_t pretrain_ms = 120'000, finetune_ms = 20'000;
    std::vector<size_t> label_counts = {100, 300, 1000, 3000};
    uint64_t seed = 1; // which target pairs are the first n
};

struct TransferPoint {
    size_t labels = 0;
    OperatingPoint fine_tuned, scratch;
};

struct TransferReport {
    OperatingPoint pretrained_only; // 0 target labels
    std::vector<TransferPoint> curve;
    std::string method;
};

Expected<TransferReport> evaluate_transfer(const std::vector<LabelledPair> &pretrain, const PairSplit &target,
                                           const std::shared_ptr<const loader::PluginLibrary> &learner, const TransferOptions &options);

} // namespace aicache::learning
