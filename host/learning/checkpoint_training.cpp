#include "learning/checkpoint_training.hpp"

#include "loader/learner_instance.hpp"

#include <fmt/format.h>

namespace aicache::learning {
namespace {

// A fresh instance, with `checkpoint` loaded when given.
Expected<loader::LearnerInstance> instance_from(const std::shared_ptr<const loader::PluginLibrary> &library, const std::string &config,
                                                store::LearnerCheckpoints &checkpoints, const std::optional<store::CheckpointRecord> &checkpoint) {
    auto instance = loader::LearnerInstance::create(library, config);
    if (!instance) return instance.error();
    if (!checkpoint) return instance;
    auto bytes = checkpoints.read(*checkpoint);
    if (!bytes) return bytes.error();
    if (Status loaded = instance->load_state(*bytes); !loaded)
        return loaded.with_context(fmt::format("checkpoint #{} (state {}) does not load into {} {} (state {}); --scratch trains anew", checkpoint->id,
                                               checkpoint->state_format, library->facts().name, library->facts().version, library->facts().state_format));
    return instance;
}

nlohmann::json measured_json(const MethodResult &m) { return {{"method", m.name}, {"held_out", operating_point_json(m.chosen)}}; }

} // namespace

Expected<TrainedCheckpoint> train_checkpoint(store::LearnerCheckpoints &checkpoints, const std::shared_ptr<const loader::PluginLibrary> &learner,
                                             const PairSplit &split, const CheckpointTrainingOptions &options) {
    if (split.validation.empty() || split.test.empty()) return Status(Errc::invalid_argument, "too few pairs to hold out validation and test questions");
    const loader::PluginFacts &facts = learner->facts();
    auto active = checkpoints.active(facts.name);
    if (!active) return active.error();
    // The incumbent is what serving uses now: the active checkpoint, else the untrained learner.
    auto incumbent = instance_from(learner, options.config, checkpoints, *active);
    if (!incumbent) return incumbent.error();
    TrainedCheckpoint out;
    auto before = measure_held_out(*incumbent, split.validation, split.test, options.target_false_hit_rate, options.confidence_z);
    if (!before) return before.error();
    out.before = std::move(*before);

    std::optional<store::CheckpointRecord> parent = options.scratch ? std::nullopt : *active;
    auto trainee = parent ? std::move(incumbent) : instance_from(learner, options.config, checkpoints, std::nullopt);
    if (!trainee) return trainee.error();
    for (const auto &p : split.train)
        if (Status s = trainee->observe_pair(p.a, p.b, p.label); !s) return s;
    auto metrics = train_for(*trainee, options.budget_ms, options.on_progress);
    if (!metrics) return metrics.error();
    out.metrics = std::move(*metrics);
    auto after = measure_held_out(*trainee, split.validation, split.test, options.target_false_hit_rate, options.confidence_z);
    if (!after) return after.error();
    out.after = std::move(*after);
    auto state = trainee->save_state();
    if (!state) return state.error().with_context("checkpoint");

    store::CheckpointRecord record;
    record.learner = facts.name;
    record.plugin_version = facts.version;
    record.plugin_sha256 = facts.content_hash;
    record.state_format = facts.state_format;
    record.parent_id = parent ? std::optional<int64_t>(parent->id) : std::nullopt;
    record.created_by = options.created_by;
    nlohmann::json trained_on = options.trained_on;
    trained_on.update({{"train_pairs", split.train.size()},
                       {"validation_pairs", split.validation.size()},
                       {"test_pairs", split.test.size()},
                       {"budget_seconds", double(options.budget_ms) / 1000},
                       {"config", nlohmann::json::parse(options.config, nullptr, false)}});
    record.trained_on = trained_on.dump();
    record.metrics = nlohmann::json{{"target_false_hit_rate", options.target_false_hit_rate},
                                    {"before", measured_json(out.before)},
                                    {"after", measured_json(out.after)},
                                    {"learner", nlohmann::json::parse(out.metrics, nullptr, false)}}
                         .dump();
    auto saved = checkpoints.add(record, *state);
    if (!saved) return saved.error();
    out.record = std::move(*saved);
    return out;
}

} // namespace aicache::learning
