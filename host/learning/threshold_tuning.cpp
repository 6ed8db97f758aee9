#include "learning/threshold_tuning.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <random>

namespace aicache::learning {
namespace {

// The base configuration with the candidate's parameters over it.
Expected<std::string> merged(const std::string &base, const std::string &parameters) {
    nlohmann::json config = nlohmann::json::parse(base, nullptr, false);
    nlohmann::json over = nlohmann::json::parse(parameters, nullptr, false);
    if (config.is_discarded() || !config.is_object()) return Status(Errc::invalid_argument, "learner configuration is not a JSON object: " + base);
    if (over.is_discarded() || !over.is_object()) return Status(Errc::invalid_argument, "parameters are not a JSON object: " + parameters);
    for (const auto &[key, value] : over.items()) config[key] = value;
    return config.dump();
}

} // namespace

Expected<ThresholdTuning> prepare_threshold_tuning(std::vector<LabelledPair> pairs, double tune_share, uint64_t seed, double delta,
                                                   std::shared_ptr<const loader::PluginLibrary> learner, std::string base_config) {
    if (!(tune_share > 0 && tune_share < 1)) return Status(Errc::invalid_argument, "--tune-share must lie in (0, 1)");
    if (!(delta > 0 && delta < 1)) return Status(Errc::invalid_argument, "--delta must lie in (0, 1)");
    if (pairs.size() < 20) return Status(Errc::invalid_argument, "too few labelled pairs to tune on and judge: " + std::to_string(pairs.size()));
    std::mt19937_64 rng(seed);
    std::shuffle(pairs.begin(), pairs.end(), rng);
    const auto cut = static_cast<std::ptrdiff_t>(double(pairs.size()) * tune_share);
    ThresholdTuning setup;
    setup.learner = std::move(learner);
    setup.tuning.assign(pairs.begin(), pairs.begin() + cut);
    setup.held_out.assign(pairs.begin() + cut, pairs.end());
    setup.delta = delta;
    setup.base_config = std::move(base_config);
    if (auto checked = merged(setup.base_config, "{}"); !checked) return checked.error();
    return setup;
}

double threshold_score(const ThresholdRun &run, double delta) {
    return 100 * run.paraphrases_served() - kFalseHitPenalty * 100 * std::max(0.0, run.false_hit_rate() - delta);
}

Evaluator threshold_evaluator(const ThresholdTuning &setup) {
    return [&setup](const nlohmann::json &candidate) {
        CandidateScore out;
        out.split = fmt::format("first {} of the shuffled pairs, delta {}", setup.tuning.size(), setup.delta);
        const std::string parameters = candidate.value("params", nlohmann::json::object()).dump();
        auto config = merged(setup.base_config, parameters);
        auto run = config ? run_threshold_stream(setup.tuning, setup.learner, setup.delta, *config) : Expected<ThresholdRun>(config.error());
        if (!run) {
            out.score = kFailedThreshold;
            out.outcome = "refused: " + run.error().message();
            return out;
        }
        out.score = threshold_score(*run, setup.delta);
        out.outcome = "measured";
        out.detail = {{"paraphrases_served", run->paraphrases_served()}, {"false_hit_rate", run->false_hit_rate()},
                      {"served", run->served}, {"explored", run->explored}};
        return out;
    };
}

Expected<ThresholdComparison> judge_threshold(const ThresholdTuning &setup, const std::string &parameters) {
    auto config = merged(setup.base_config, parameters);
    if (!config) return config.error();
    auto defaults = run_threshold_stream(setup.held_out, setup.learner, setup.delta, setup.base_config);
    if (!defaults) return defaults.error();
    auto tuned = run_threshold_stream(setup.held_out, setup.learner, setup.delta, *config);
    if (!tuned) return tuned.error();
    return ThresholdComparison{std::move(*defaults), std::move(*tuned)};
}

} // namespace aicache::learning
