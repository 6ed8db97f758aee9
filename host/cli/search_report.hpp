// What `optimize run` and the demo share about searches whose candidates are patches: the
// evaluator that submits each candidate through the pipeline, and the one-line trial report.
#pragma once

#include "learning/search.hpp"
#include "patches/classical_baseline.hpp"
#include "patches/pipeline.hpp"
#include "store/search_records.hpp"

#include <filesystem>
#include <string>

namespace aicache::cli {

// Scores a candidate by submitting it as a patch (patches/candidate.hpp); `pipeline` and
// `submit` must outlive the evaluator.
learning::Evaluator patch_evaluator(patches::PatchPipeline &pipeline, const patches::SubmitOptions &submit,
                                    const std::filesystem::path &templates);

// Scores a candidate against the best classical policy at each trace and size
// (patches/classical_baseline.hpp); everything passed must outlive the evaluator.
learning::Evaluator baseline_evaluator(patches::PatchPipeline &pipeline, const patches::SubmitOptions &submit,
                                       const std::filesystem::path &templates, const patches::ClassicalBaseline &baseline);
// The tie-break of searches whose candidates are patches: the mean of the gains in the trial's
// per_size cells (what the evaluators above record), lowest when it has none (a repeat, a failure).
// Worst-first scores tie whenever candidates are behind by the same amount at the same place; of
// those, the one further ahead elsewhere is the better patch.
double mean_gain(const store::TrialRecord &trial);

// Every policy plugin in `dir` (qualified_policies): what an evolved policy is measured against.
Expected<std::vector<std::shared_ptr<const loader::PluginLibrary>>> classical_policies(const std::filesystem::path &dir);

// "template: name=value ..." or "source (N bytes)".
std::string describe_candidate(const std::string &candidate_json);
// "  #3    +1.98 pt  patch #12  evaluated   priority: priority=pdiv(frequency, age)\n"
std::string trial_line(const store::TrialRecord &trial);

} // namespace aicache::cli
