// How a patch does on traces, beside every classical policy and Belady's clairvoyant bound: the
// check that an evolved policy learned something general and not the trace it was evolved on.
// The patch runs in the trial's locked-down child (patches/trial.hpp), never in this process; the
// classical policies and Belady are replayed here.
#pragma once

#include "core/status.hpp"
#include "loader/plugin_library.hpp"
#include "patches/trial.hpp"
#include "replay/paired_difference.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace aicache::patches {

struct GeneralizationRow {
    std::string trace, size;
    bool trained_on = false; // the trace the patch was evolved (or written) on
    std::string best_classical;
    double best_classical_ratio = 0, patch_ratio = 0, belady_ratio = 0; // hit ratios, 0..1
    // The patch against the best classical policy, chunk by chunk (GeneralizationOptions::chunks).
    std::optional<replay::PairedDifference> versus_best;
    // The share of the gap from the best classical policy to Belady that the patch closes
    // (negative: it is behind the best classical policy).
    [[nodiscard]] double gap_closed() const {
        const double gap = belady_ratio - best_classical_ratio;
        return gap > 1e-9 ? (patch_ratio - best_classical_ratio) / gap : 0;
    }
};

struct GeneralizationOptions {
    std::vector<std::string> traces, sizes;
    std::vector<std::string> trained_on;                                   // trace paths, as given
    std::vector<std::shared_ptr<const loader::PluginLibrary>> classical; // the policies to beat
    TrialOptions trial = TrialOptions::defaults();                        // limits, allowlist; trace and sizes are set per trace
    uint32_t chunks = 50; // chunks the patch and the best classical policy are compared in (0: not at all)
    std::function<void(const std::string &what)> progress;
};

Expected<std::vector<GeneralizationRow>> judge_generalization(std::string_view object, const std::string &label, const GeneralizationOptions &options);

} // namespace aicache::patches
