#include "cli/replay_plot.hpp"

#include "cli/gnuplot.hpp"

#include <algorithm>
#include <map>

namespace aicache::cli {

Status plot_miss_ratio_curves(const replay::Trace &trace, const std::vector<ReplayRow> &rows, const std::filesystem::path &out) {
    // policy -> (capacity, miss ratio), in the order the table lists them.
    std::vector<std::string> order;
    std::map<std::string, std::vector<std::pair<double, double>>> curves;
    for (const ReplayRow &row : rows) {
        const auto &r = row.result;
        if (!curves.count(r.policy)) order.push_back(r.policy);
        curves[r.policy].emplace_back(double(r.capacity_bytes), 1.0 - r.hit_ratio());
    }
    std::vector<PlotSeries> series;
    for (const auto &policy : order) {
        auto points = curves[policy];
        std::sort(points.begin(), points.end());
        series.push_back({policy, points});
    }
    PlotSpec spec{"miss ratio curves: " + trace.name, "cache size (bytes)", "miss ratio", true, std::nullopt, std::make_pair(0.0, 1.0)};
    return plot_lines(spec, series, out);
}

} // namespace aicache::cli
