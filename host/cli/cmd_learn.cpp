// `aicache learn status`: what the cache has been doing, window by window, as the performance
// monitor of a `serve` on this data directory recorded it (learning/performance_monitor.hpp):
// requests, hit ratio, tokens saved, false hits reported, latency.
#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "store/monitor_windows.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <ctime>

namespace aicache::cli {
namespace {

struct LearnArgs {
    std::string data;
    size_t windows = 12;
    bool json = false;
};

std::string clock_time(uint64_t us) {
    std::time_t seconds = static_cast<std::time_t>(us / 1'000'000);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    return fmt::format("{:%Y-%m-%d %H:%M:%S}", utc);
}

int status(const LearnArgs &args) {
    auto db = store::Database::open(data_dir(args.data) / "aicache.db");
    if (!db) return fail(db.error());
    store::MonitorWindows windows(**db);
    auto recent = windows.recent(args.windows);
    if (!recent) return fail(recent.error());
    if (args.json) {
        nlohmann::json out = {{"windows", nlohmann::json::array()}};
        for (const auto &w : *recent)
            out["windows"].push_back({{"start_us", w.start_us}, {"end_us", w.end_us}, {"requests", w.requests}, {"hits", w.hits},
                                      {"semantic_hits", w.semantic_hits}, {"misses", w.misses}, {"bypasses", w.bypasses}, {"errors", w.errors},
                                      {"hit_ratio", w.hit_ratio()}, {"tokens_answered", w.tokens_answered}, {"tokens_saved", w.tokens_saved},
                                      {"wrong_reports", w.wrong_reports}, {"right_reports", w.right_reports},
                                      {"latency_p50_us", w.latency_p50_us}, {"latency_p99_us", w.latency_p99_us}});
        std::printf("%s\n", out.dump(2).c_str());
        return 0;
    }
    if (recent->empty()) {
        std::printf("no windows recorded yet: `aicache serve` records one every --monitor-window seconds (60) while it serves\n");
        return 0;
    }
    std::printf("%-19s %6s %8s %7s %8s %8s %12s %6s %9s %9s\n", "window end (UTC)", "secs", "requests", "hits", "semantic", "hit ratio",
                "tokens saved", "wrong", "p50 ms", "p99 ms");
    for (const auto &w : *recent)
        std::printf("%-19s %6.0f %8llu %7llu %8llu %8.1f%% %12llu %6llu %9.2f %9.2f\n", clock_time(w.end_us).c_str(),
                    double(w.end_us - w.start_us) / 1e6, (unsigned long long)w.requests, (unsigned long long)w.hits,
                    (unsigned long long)w.semantic_hits, 100 * w.hit_ratio(), (unsigned long long)w.tokens_saved,
                    (unsigned long long)w.wrong_reports, w.latency_p50_us / 1000.0, w.latency_p99_us / 1000.0);
    return 0;
}

} // namespace

void register_learn(CLI::App &app) {
    CLI::App *learn = app.add_subcommand("learn", "What the cache has been doing, and (next) what it learned from it");
    learn->require_subcommand(1);
    auto args = std::make_shared<LearnArgs>();
    learn->add_option("--data", args->data, "Data directory (default: $AICACHE_DATA or ~/.local/share/aicache)");
    CLI::App *status_cmd = learn->add_subcommand("status", "The performance monitor's last windows: requests, hit ratio, tokens saved, latency");
    status_cmd->add_option("--windows", args->windows, "How many windows")->capture_default_str();
    status_cmd->add_flag("--json", args->json, "JSON");
    on_callback(status_cmd, [args] { return status(*args); });
}

} // namespace aicache::cli
