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
#include <string>
#include <vector>

namespace aicache::learning {

using StepProgress = std::function<void(const std::string &step, uint64_t done_ms, uint64_t budget_ms)>;

struct HeldOut {
    OperatingPoint a, b; // on each domain's test questions
};

// What both measurements share: how held-out hits are measured, the learner's base configuration.
struct ContinualOptions {
    double target_false_hit_rate = 0.02, confidence_z = 1.645;
    std::string learner_config = "{}";
    StepProgress on_progress;
};

struct DriftOptions : ContinualOptions {
    uint64_t budget_a_ms = 120'000, budget_b_ms = 60'000;
    double ewc_lambda = 100;
};

struct DriftRow {
    std::string mode; // naive, replay, replay+ewc
    HeldOut after_b;
    std::string train_metrics;
};

struct DriftReport {
    HeldOut after_a;
    std::vector<DriftRow> rows;
    std::string method; // what scores the pairs (relation head or cosine)
};

Expected<DriftReport> evaluate_drift(const PairSplit &a, const PairSplit &b, const std::shared_ptr<const loader::PluginLibrary> &learner,
                                     const DriftOptions &options);

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
