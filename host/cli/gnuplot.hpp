// Line charts drawn by gnuplot (Debian's gnuplot-nox) into SVG or PNG, chosen by the extension.
#pragma once

#include "core/status.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace aicache::cli {

struct PlotSeries {
    std::string name;
    std::vector<std::pair<double, double>> points;
};

struct PlotSpec {
    std::string title, x_label, y_label;
    bool log_x = false;
    std::optional<std::pair<double, double>> x_range, y_range;
};

Status plot_lines(const PlotSpec &spec, const std::vector<PlotSeries> &series, const std::filesystem::path &out);

} // namespace aicache::cli
