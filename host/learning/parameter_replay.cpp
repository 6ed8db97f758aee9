#include "learning/parameter_replay.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <unordered_map>

namespace aicache::learning {
namespace {

replay::Trace part_of(const replay::Trace &trace, size_t begin, size_t end, const std::string &name) {
    replay::Trace part;
    part.name = name;
    part.requests.assign(trace.requests.begin() + long(begin), trace.requests.begin() + long(end));
    std::unordered_map<uint64_t, uint64_t> sizes;
    for (const auto &r : part.requests)
        if (sizes.emplace(r.id, r.size).second) part.footprint_bytes += r.size;
    part.distinct_objects = sizes.size();
    return part;
}

} // namespace

double SizedHitRatios::mean() const {
    double sum = 0;
    for (double p : percent) sum += p;
    return percent.empty() ? 0 : sum / double(percent.size());
}

Expected<ParameterReplay> prepare_parameter_replay(replay::Trace trace, std::string trace_name, double tune_share,
                                                   const std::vector<std::string> &sizes, std::shared_ptr<const loader::PluginLibrary> policy) {
    if (!(tune_share > 0 && tune_share < 1)) return Status(Errc::invalid_argument, "the tuning share must lie strictly between 0 and 1");
    if (sizes.empty()) return Status(Errc::invalid_argument, "no cache sizes to replay");
    const size_t cut = static_cast<size_t>(double(trace.requests.size()) * tune_share);
    if (cut < 1 || cut >= trace.requests.size())
        return Status(Errc::invalid_argument, trace_name + ": " + std::to_string(trace.requests.size()) + " requests are too few to split");
    ParameterReplay setup;
    setup.policy = std::move(policy);
    setup.trace_name = std::move(trace_name);
    setup.size_names = sizes;
    for (const auto &text : sizes) {
        auto size = replay::parse_cache_size(text, trace);
        if (!size) return size.error();
        setup.sizes.push_back(*size);
    }
    setup.tuning = part_of(trace, 0, cut, trace.name + " (first " + fmt::format("{:.0f}%", 100 * tune_share) + ")");
    setup.held_out = part_of(trace, cut, trace.requests.size(), trace.name + " (last " + fmt::format("{:.0f}%", 100 * (1 - tune_share)) + ")");
    return setup;
}

Expected<std::vector<replay::ReplayResult>> replay_at_sizes(const ParameterReplay &setup, const replay::Trace &part, const std::string &parameters,
                                                            uint64_t measure_from, uint64_t measure_to) {
    std::vector<replay::ReplayResult> out;
    for (const auto &size : setup.sizes) {
        replay::ReplayOptions options;
        options.capacity_bytes = size.amount;
        options.count_objects = size.objects;
        options.policy_parameters = parameters;
        options.measure_from = measure_from;
        options.measure_to = measure_to;
        auto result = replay::run_replay(part, setup.policy, options);
        if (!result) return result.error();
        if (result->policy_errors > 0)
            return Status(Errc::plugin, setup.policy->facts().name + " reported " + std::to_string(result->policy_errors) + " errors with " + parameters);
        out.push_back(std::move(*result));
    }
    return out;
}

Expected<SizedHitRatios> replay_parameters(const ParameterReplay &setup, const replay::Trace &part, const std::string &parameters) {
    auto results = replay_at_sizes(setup, part, parameters);
    if (!results) return results.error();
    SizedHitRatios out;
    for (const auto &r : *results) out.percent.push_back(100 * r.ratio(setup.objective));
    return out;
}

Expected<Evaluator> parameter_evaluator(const ParameterReplay &setup) {
    auto defaults = replay_parameters(setup, setup.tuning, "{}");
    if (!defaults) return defaults.error().with_context("the defaults");
    const std::string split = setup.tuning.name + " @ " + fmt::format("{}", fmt::join(setup.size_names, ","));
    return Evaluator([&setup, baseline = *defaults, split](const nlohmann::json &candidate) {
        CandidateScore score;
        score.split = split;
        if (!candidate.contains("params") || !candidate["params"].is_object()) {
            score.score = kFailedParameters;
            score.outcome = "rejected: a parameter candidate needs \"params\": {...}";
            return score;
        }
        auto measured = replay_parameters(setup, setup.tuning, candidate["params"].dump());
        if (!measured) {
            score.score = kFailedParameters;
            score.outcome = "rejected: " + measured.error().message();
            return score;
        }
        score.score = measured->mean() - baseline.mean();
        score.outcome = "replayed";
        score.detail = {{"hit_ratio_percent", measured->percent}, {"defaults_percent", baseline.percent}, {"sizes", setup.size_names}};
        return score;
    });
}

Expected<HeldOutComparison> judge_on_held_out(const ParameterReplay &setup, const std::string &parameters) {
    HeldOutComparison out;
    auto defaults = replay_parameters(setup, setup.held_out, "{}");
    if (!defaults) return defaults.error();
    auto tuned = replay_parameters(setup, setup.held_out, parameters);
    if (!tuned) return tuned.error();
    out.defaults = std::move(*defaults);
    out.tuned = std::move(*tuned);
    return out;
}

} // namespace aicache::learning
