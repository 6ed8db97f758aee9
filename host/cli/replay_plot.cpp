#include "cli/replay_plot.hpp"

#include "core/files.hpp"

#include <aicache/sandbox/runner.hpp>

#include <fmt/format.h>

#include <map>
#include <unistd.h>

namespace aicache::cli {

Status plot_miss_ratio_curves(const replay::Trace &trace, const std::vector<ReplayRow> &rows, const std::filesystem::path &out) {
    std::string extension = out.extension().string();
    std::string terminal;
    if (extension == ".svg") terminal = "svg size 900,560 dynamic background rgb 'white'";
    else if (extension == ".png") terminal = "pngcairo size 900,560";
    else return Status(Errc::invalid_argument, "--plot " + out.string() + ": the file must end in .svg or .png");

    // policy -> (capacity, miss ratio), in the order the table lists them.
    std::vector<std::string> order;
    std::map<std::string, std::vector<std::pair<uint64_t, double>>> curves;
    for (const ReplayRow &row : rows) {
        const auto &r = row.result;
        if (!curves.count(r.policy)) order.push_back(r.policy);
        curves[r.policy].emplace_back(r.capacity_bytes, 1.0 - r.hit_ratio());
    }
    std::string data;
    for (const auto &policy : order) {
        auto points = curves[policy];
        std::sort(points.begin(), points.end());
        data += "\"" + policy + "\"\n";
        for (const auto &[capacity, miss] : points) data += fmt::format("{} {:.6f}\n", capacity, miss);
        data += "\n\n"; // gnuplot: a new data block per policy
    }
    char directory_template[] = "/tmp/aicache-plot-XXXXXX";
    const char *directory = ::mkdtemp(directory_template);
    if (directory == nullptr) return Status(Errc::io, "cannot create a temporary directory for the plot");
    std::filesystem::path work(directory);
    struct Cleanup {
        std::filesystem::path dir;
        ~Cleanup() {
            std::error_code ec;
            std::filesystem::remove_all(dir, ec);
        }
    } cleanup{work};
    if (Status s = write_file_atomic(work / "curves.dat", data); !s) return s;
    std::string script = fmt::format(
        "set terminal {}\nset output '{}'\nset title \"miss ratio curves: {}\" noenhanced\n"
        "set xlabel 'cache size (bytes)'\nset ylabel 'miss ratio'\nset logscale x\nset yrange [0:1]\nset grid\n"
        "set key outside right noenhanced\n"
        "plot for [i=0:{}] '{}' index i using 1:2 with linespoints title columnheader(1)\n",
        terminal, std::filesystem::absolute(out).string(), trace.name, order.size() - 1, (work / "curves.dat").string());
    if (Status s = write_file_atomic(work / "plot.gp", script); !s) return s;
    sandbox::Limits limits;
    limits.wall_time = std::chrono::seconds(60);
    sandbox::Result result = sandbox::run({"/usr/bin/gnuplot", (work / "plot.gp").string()}, limits);
    if (result.outcome == sandbox::Outcome::setup_error)
        return Status(Errc::not_found, "--plot needs gnuplot (Debian package gnuplot-nox; scripts/bootstrap installs it): " + result.reason);
    if (result.outcome != sandbox::Outcome::ok)
        return Status(Errc::internal, "gnuplot failed (" + result.to_string() + "): " + result.err);
    return Status::ok();
}

} // namespace aicache::cli
