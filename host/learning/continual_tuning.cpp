#include "learning/continual_tuning.hpp"

#include "learning/semantic_eval.hpp"
#include "loader/learner_instance.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace aicache::learning {
namespace {

// base_config with the seed, the step budget and `extra` over it.
Expected<std::string> configured(const ContinualTuning &setup, const std::string &base, uint64_t steps, const nlohmann::json &extra) {
    nlohmann::json config = nlohmann::json::parse(base, nullptr, false);
    if (config.is_discarded() || !config.is_object()) return Status(Errc::invalid_argument, "learner configuration is not a JSON object: " + base);
    if (setup.seed) config["seed"] = *setup.seed;
    if (steps > 0) config["train_steps"] = steps;
    for (const auto &[key, value] : extra.items()) config[key] = value;
    return config.dump();
}

Expected<double> auc_points(loader::LearnerInstance &learner, const std::vector<LabelledPair> &pairs) {
    auto scored = learner_scores(learner, pairs);
    if (!scored) return scored.error();
    return 100 * area_under(hit_curve(scored->pairs));
}

// The learner from A's checkpoint, trained on B with `parameters` over {"replay": 1}.
Expected<loader::LearnerInstance> continued(const ContinualTuning &setup, const nlohmann::json &parameters) {
    nlohmann::json extra = {{"replay", 1}};
    for (const auto &[key, value] : parameters.items()) extra[key] = value;
    auto config = configured(setup, setup.base_config, setup.steps_b, extra);
    if (!config) return config.error();
    auto instance = loader::LearnerInstance::create(setup.learner, *config);
    if (!instance) return instance.error();
    if (Status loaded = instance->load_state(setup.checkpoint_a); !loaded) return loaded.with_context("continuing from A's checkpoint");
    for (const auto &p : setup.b.train)
        if (Status s = instance->observe_pair(p.a, p.b, p.label); !s) return s;
    if (auto trained = train_by_steps(*instance, setup.steps_b); !trained) return trained.error();
    return instance;
}

// The learner continued with `parameters`, its AUC on A's and on B's questions (validation or test).
Expected<ContinualJudgement> measured(const ContinualTuning &setup, const nlohmann::json &parameters, const std::vector<LabelledPair> &on_a,
                                      const std::vector<LabelledPair> &on_b) {
    auto learner = continued(setup, parameters);
    if (!learner) return learner.error();
    auto a = auc_points(*learner, on_a);
    if (!a) return a.error();
    auto b = auc_points(*learner, on_b);
    if (!b) return b.error();
    return ContinualJudgement{*a, *b};
}

} // namespace

Expected<ContinualTuning> prepare_continual_tuning(PairSplit a, PairSplit b, std::shared_ptr<const loader::PluginLibrary> learner,
                                                   std::string base_config, uint64_t steps_a, uint64_t steps_b, std::optional<uint64_t> seed,
                                                   const std::function<void(uint64_t, uint64_t)> &progress) {
    if (a.train.empty() || a.validation.empty() || a.test.empty() || b.train.empty() || b.validation.empty() || b.test.empty())
        return Status(Errc::invalid_argument, "each domain needs enough pairs for training, validation and test questions");
    if (steps_a == 0 || steps_b == 0) return Status(Errc::invalid_argument, "training on A and on B needs a number of steps (> 0)");
    ContinualTuning setup;
    setup.learner = std::move(learner);
    setup.a = std::move(a), setup.b = std::move(b);
    setup.base_config = std::move(base_config);
    setup.steps_b = steps_b, setup.seed = seed;
    auto config = configured(setup, setup.base_config, steps_a, {{"replay", 1}, {"ewc_lambda", 0}});
    if (!config) return config.error();
    auto first = loader::LearnerInstance::create(setup.learner, *config);
    if (!first) return first.error();
    for (const auto &p : setup.a.train)
        if (Status s = first->observe_pair(p.a, p.b, p.label); !s) return s;
    if (auto trained = train_by_steps(*first, steps_a, progress); !trained) return trained.error().with_context("training on A");
    auto auc = auc_points(*first, setup.a.validation);
    if (!auc) return auc.error();
    setup.auc_a_after_a = *auc;
    auto checkpoint = first->save_state();
    if (!checkpoint) return checkpoint.error().with_context("checkpoint after A");
    setup.checkpoint_a = std::move(*checkpoint);
    return setup;
}

Evaluator continual_evaluator(const ContinualTuning &setup) {
    return [&setup](const nlohmann::json &candidate) {
        CandidateScore out;
        out.split = fmt::format("validation questions of A ({} pairs) and B ({} pairs) after {} steps on B", setup.a.validation.size(),
                                setup.b.validation.size(), setup.steps_b);
        auto aucs = measured(setup, candidate.value("params", nlohmann::json::object()), setup.a.validation, setup.b.validation);
        if (!aucs) {
            out.score = kFailedContinual;
            out.outcome = "refused: " + aucs.error().message();
            return out;
        }
        out.score = aucs->mean();
        out.outcome = "measured";
        out.detail = {{"auc_a", aucs->a}, {"auc_b", aucs->b}, {"auc_a_after_a", setup.auc_a_after_a}};
        return out;
    };
}

Expected<ContinualComparison> judge_continual(const ContinualTuning &setup, const std::string &parameters) {
    nlohmann::json params = nlohmann::json::parse(parameters, nullptr, false);
    if (params.is_discarded() || !params.is_object()) return Status(Errc::invalid_argument, "parameters are not a JSON object: " + parameters);
    ContinualComparison out;
    for (auto [which, with] : {std::pair{&out.defaults, nlohmann::json::object()}, std::pair{&out.tuned, params}}) {
        auto aucs = measured(setup, with, setup.a.test, setup.b.test);
        if (!aucs) return aucs.error();
        *which = *aucs;
    }
    return out;
}

} // namespace aicache::learning
