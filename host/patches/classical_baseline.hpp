// The bar an evolved policy has to clear: the best classical policy at each trace and cache size
// (issue 7's target for evolve), measured once before a search by replaying every policy plugin
// here, and a candidate's score against it. The candidate itself runs only in the trial's
// locked-down child: on the first trace as the pipeline's trial, on the others in trials of the
// stored object.
#pragma once

#include "core/status.hpp"
#include "loader/plugin_library.hpp"
#include "patches/candidate.hpp"
#include "patches/pipeline.hpp"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace aicache::patches {

struct BaselineCell {
    std::string trace, size, policy; // policy: the best classical one there
    double hit_ratio = 0;            // 0..1
    std::vector<uint64_t> chunk_hits; // the best one's hits per chunk, when chunks were asked for
};

// How a candidate's gains over the baseline make one score. balanced: the mean of the mean gain and
// the worst gain. worst_first: the worst gain while it is below 0, the mean gain once every place
// is at least the baseline (issue 7's bar first, then how far above it).
enum class BaselineScore { balanced, worst_first };

struct ClassicalBaseline {
    std::vector<std::string> traces, sizes;
    std::vector<BaselineCell> cells; // trace-major: cells[t * sizes.size() + s]
    BaselineScore score = BaselineScore::balanced;
    [[nodiscard]] const BaselineCell &at(size_t trace, size_t size) const { return cells[trace * sizes.size() + size]; }
};

Expected<ClassicalBaseline> measure_classical_baseline(const std::vector<std::string> &traces, const std::vector<std::string> &sizes,
                                                       const std::vector<std::shared_ptr<const loader::PluginLibrary>> &classical,
                                                       const std::function<void(const std::string &)> &progress = {},
                                                       uint32_t chunks = 0);

// Submits the candidate (its trial on baseline.traces[0]), runs the evaluated patch on the other
// traces, and scores its hit ratio against the baseline by baseline.score over every trace and size,
// in points: either way a candidate cannot buy one size with another.
PatchScore score_against_baseline(PatchPipeline &pipeline, const nlohmann::json &candidate, const SubmitOptions &options,
                                  const std::filesystem::path &templates, const ClassicalBaseline &baseline);

} // namespace aicache::patches
