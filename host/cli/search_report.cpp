#include "cli/search_report.hpp"

#include "cli/common.hpp"
#include "patches/candidate.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <limits>

namespace aicache::cli {

learning::Evaluator patch_evaluator(patches::PatchPipeline &pipeline, const patches::SubmitOptions &submit,
                                    const std::filesystem::path &templates) {
    return [&pipeline, &submit, templates](const nlohmann::json &candidate) {
        patches::PatchScore scored = patches::submit_candidate(pipeline, candidate, submit, templates);
        return learning::CandidateScore{scored.score, scored.outcome, scored.patch_id, scored.split, {{"per_size", scored.per_size}}};
    };
}

learning::Evaluator baseline_evaluator(patches::PatchPipeline &pipeline, const patches::SubmitOptions &submit,
                                       const std::filesystem::path &templates, const patches::ClassicalBaseline &baseline) {
    return [&pipeline, &submit, &baseline, templates](const nlohmann::json &candidate) {
        patches::PatchScore scored = patches::score_against_baseline(pipeline, candidate, submit, templates, baseline);
        return learning::CandidateScore{scored.score, scored.outcome, scored.patch_id, scored.split, {{"per_size", scored.per_size}}};
    };
}

double mean_gain(const store::TrialRecord &trial) {
    const nlohmann::json detail = nlohmann::json::parse(trial.detail, nullptr, false);
    if (!detail.is_object() || !detail.contains("per_size") || !detail["per_size"].is_array() || detail["per_size"].empty())
        return -std::numeric_limits<double>::infinity();
    double total = 0;
    for (const auto &cell : detail["per_size"]) total += cell.value("gain_points", 0.0);
    return total / static_cast<double>(detail["per_size"].size());
}

Expected<std::vector<std::shared_ptr<const loader::PluginLibrary>>> classical_policies(const std::filesystem::path &dir) {
    auto named = qualified_policies(dir);
    if (!named) return named.error();
    std::vector<std::shared_ptr<const loader::PluginLibrary>> out;
    for (auto &[name, library] : *named) out.push_back(std::move(library));
    return out;
}

std::string describe_candidate(const std::string &candidate_json) {
    nlohmann::json c = nlohmann::json::parse(candidate_json, nullptr, false);
    if (c.is_discarded()) return "?";
    if (c.contains("source") && c["source"].is_string()) return "source (" + std::to_string(c["source"].get<std::string>().size()) + " bytes)";
    std::string out = c.value("template", std::string("params")) + ":";
    if (c.contains("params") && c["params"].is_object())
        for (const auto &[key, value] : c["params"].items()) out += " " + key + "=" + (value.is_string() ? value.get<std::string>() : value.dump());
    return out;
}

std::string trial_line(const store::TrialRecord &t) {
    std::string patch = t.patch_id ? "patch #" + std::to_string(*t.patch_id) : "-";
    std::string score = t.score <= patches::kFailedPatchScore ? std::string("   failed") : fmt::format("{:+7.2f} pt", t.score);
    return fmt::format("  #{:<4} {}  {:<10} {:<28} {}\n", t.number, score, patch, t.outcome.substr(0, 28), describe_candidate(t.candidate));
}

} // namespace aicache::cli
