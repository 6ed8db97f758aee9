// Miss-ratio curves of a replay, drawn by gnuplot (Debian's gnuplot-nox) into SVG or PNG.
#pragma once

#include "cli/replay_table.hpp"
#include "core/status.hpp"

#include <filesystem>
#include <vector>

namespace aicache::cli {

// One curve per policy: miss ratio against cache size. The format follows the extension.
Status plot_miss_ratio_curves(const replay::Trace &trace, const std::vector<ReplayRow> &rows, const std::filesystem::path &out);

} // namespace aicache::cli
