// An optimizer's candidate as a patch: how an optimizer submits code through the host. A candidate
// carries C++ source ({"source": ...}) or names one of the host's templates with parameters
// ({"template": "priority", "params": {...}}), which the host renders and checks; either way the
// patch goes through the whole pipeline (validation, sandboxed compile, trial against the
// incumbent) like one an operator submits, and its trial gives the score told back.
#pragma once

#include "core/status.hpp"
#include "patches/pipeline.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <optional>
#include <string>

namespace aicache::patches {

// The worst score: a patch that fails any step. A real gain lies in [-100, 100] points.
constexpr double kFailedPatchScore = -100;

Expected<jit::PatchSource> render_candidate(const nlohmann::json &candidate, const std::filesystem::path &templates);

struct PatchScore {
    double score = kFailedPatchScore; // mean gain in hit-ratio points over the incumbent across the trial's sizes
    std::string outcome;              // "evaluated", or "rejected: <stage>: <why>"
    std::optional<int64_t> patch_id;
    std::string split;                // "<trace> @ 1%,10%"
    nlohmann::json per_size = nlohmann::json::array();
};

// Renders, submits (options.who names the optimizer) and scores one candidate.
PatchScore submit_candidate(PatchPipeline &pipeline, const nlohmann::json &candidate, const SubmitOptions &options,
                            const std::filesystem::path &templates);

} // namespace aicache::patches
