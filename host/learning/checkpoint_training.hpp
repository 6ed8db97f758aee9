// Training a learner checkpoint the way `aicache learner train` and the learning coordinator both
// do: continue from the active checkpoint (or from scratch), train on the training questions of a
// pair split, measure the model on held-out questions before and after (the held-out hit rate at a
// false-hit target, the threshold chosen on the validation questions), and record the new
// checkpoint in the knowledge repository, not yet active: the caller decides that.
#pragma once

#include "core/status.hpp"
#include "learning/pairs.hpp"
#include "learning/semantic_eval.hpp"
#include "loader/plugin_library.hpp"
#include "store/learner_checkpoints.hpp"

#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <string>

namespace aicache::learning {

struct CheckpointTrainingOptions {
    std::string config = "{}";
    uint64_t budget_ms = 60'000;
    double target_false_hit_rate = 0.02, confidence_z = 1.645;
    bool scratch = false;                            // from an untrained learner, not the active checkpoint
    std::string created_by;
    nlohmann::json trained_on = nlohmann::json::object(); // what the data was; the split's sizes and the budget are added
    std::function<void(uint64_t done_ms, uint64_t budget_ms)> on_progress;
};

struct TrainedCheckpoint {
    MethodResult before, after; // the serving model (the active checkpoint, else untrained), and the new one
    store::CheckpointRecord record; // as recorded (id, sha256, ...)
    std::string metrics;            // the learner's report of its last training call
};

Expected<TrainedCheckpoint> train_checkpoint(store::LearnerCheckpoints &checkpoints, const std::shared_ptr<const loader::PluginLibrary> &learner,
                                             const PairSplit &split, const CheckpointTrainingOptions &options);

} // namespace aicache::learning
