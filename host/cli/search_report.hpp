// What `optimize run` and the demo share about searches whose candidates are patches: the
// evaluator that submits each candidate through the pipeline, and the one-line trial report.
#pragma once

#include "learning/search.hpp"
#include "patches/pipeline.hpp"
#include "store/search_records.hpp"

#include <filesystem>
#include <string>

namespace aicache::cli {

// Scores a candidate by submitting it as a patch (patches/candidate.hpp); `pipeline` and
// `submit` must outlive the evaluator.
learning::Evaluator patch_evaluator(patches::PatchPipeline &pipeline, const patches::SubmitOptions &submit,
                                    const std::filesystem::path &templates);

// "template: name=value ..." or "source (N bytes)".
std::string describe_candidate(const std::string &candidate_json);
// "  #3    +1.98 pt  patch #12  evaluated   priority: priority=pdiv(frequency, age)\n"
std::string trial_line(const store::TrialRecord &trial);

} // namespace aicache::cli
