#include "cli/gnuplot.hpp"

#include "core/files.hpp"

#include <aicache/sandbox/runner.hpp>

#include <fmt/format.h>

#include <unistd.h>

namespace aicache::cli {

Status plot_lines(const PlotSpec &spec, const std::vector<PlotSeries> &series, const std::filesystem::path &out) {
    std::string extension = out.extension().string();
    std::string terminal;
    if (extension == ".svg") terminal = "svg size 900,560 dynamic background rgb 'white'";
    else if (extension == ".png") terminal = "pngcairo size 900,560";
    else return Status(Errc::invalid_argument, "--plot " + out.string() + ": the file must end in .svg or .png");
    if (series.empty()) return Status(Errc::invalid_argument, "--plot: nothing to draw");

    std::string data;
    for (const auto &s : series) {
        data += "\"" + s.name + "\"\n";
        for (const auto &[x, y] : s.points) data += fmt::format("{:.9g} {:.6f}\n", x, y);
        data += "\n\n"; // gnuplot: a new data block per series
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
    auto range = [](const char *axis, const std::optional<std::pair<double, double>> &r) {
        return r ? fmt::format("set {}range [{}:{}]\n", axis, r->first, r->second) : std::string();
    };
    std::string script = fmt::format(
        "set terminal {}\nset output '{}'\nset title \"{}\" noenhanced\nset xlabel '{}'\nset ylabel '{}'\n{}{}{}set grid\n"
        "set key outside right noenhanced\n"
        "plot for [i=0:{}] '{}' index i using 1:2 with lines linewidth 2 title columnheader(1)\n",
        terminal, std::filesystem::absolute(out).string(), spec.title, spec.x_label, spec.y_label, spec.log_x ? "set logscale x\n" : "",
        range("x", spec.x_range), range("y", spec.y_range), series.size() - 1, (work / "curves.dat").string());
    if (Status s = write_file_atomic(work / "plot.gp", script); !s) return s;
    sandbox::Limits limits;
    limits.wall_time = std::chrono::seconds(60);
    sandbox::Result result = sandbox::run({"/usr/bin/gnuplot", (work / "plot.gp").string()}, limits);
    if (result.outcome == sandbox::Outcome::setup_error)
        return Status(Errc::not_found, "--plot needs gnuplot (Debian package gnuplot-nox; scripts/bootstrap installs it): " + result.reason);
    if (result.outcome != sandbox::Outcome::ok) return Status(Errc::internal, "gnuplot failed (" + result.to_string() + "): " + result.err);
    return Status::ok();
}

} // namespace aicache::cli
