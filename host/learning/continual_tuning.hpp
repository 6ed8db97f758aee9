// Tuning how a matching learner carries on to new questions (the continual-learning side of
// `tune`: its learning rate on the new domain, EWC's λ, ...). The learner trains on domain A once;
// every candidate ({"params": {...}}) continues from that checkpoint on domain B with replay on,
// for the same steps, and is scored on both domains' validation questions by ROC AUC (no
// threshold to choose): 100 × the mean of the AUC on A and on B after B, so forgetting A costs as
// much as not learning B. The winner is judged on the test questions beside the defaults.
#pragma once

#include "core/status.hpp"
#include "learning/pairs.hpp"
#include "learning/search.hpp"
#include "loader/plugin_library.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace aicache::learning {

struct ContinualTuning {
    std::shared_ptr<const loader::PluginLibrary> learner;
    PairSplit a, b;
    std::string base_config = "{}"; // under every instance; B adds {"replay": 1} and the candidate's
    uint64_t steps_b = 0;
    std::optional<uint64_t> seed;   // the learner's, over base_config
    std::string checkpoint_a;       // the learner after A: where every candidate starts
    double auc_a_after_a = 0;       // validation, in points
};

Expected<ContinualTuning> prepare_continual_tuning(PairSplit a, PairSplit b, std::shared_ptr<const loader::PluginLibrary> learner,
                                                   std::string base_config, uint64_t steps_a, uint64_t steps_b, std::optional<uint64_t> seed,
                                                   const std::function<void(uint64_t, uint64_t)> &progress = {});

constexpr double kFailedContinual = -100; // parameters the learner refuses
Evaluator continual_evaluator(const ContinualTuning &setup);

struct ContinualJudgement {
    double a = 0, b = 0; // test AUC after B, in points
    [[nodiscard]] double mean() const { return (a + b) / 2; }
};
struct ContinualComparison {
    ContinualJudgement defaults, tuned;
};
Expected<ContinualComparison> judge_continual(const ContinualTuning &setup, const std::string &parameters);

} // namespace aicache::learning
