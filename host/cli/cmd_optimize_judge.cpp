// `aicache optimize judge SEARCH --trace T,... --size S,...`: the search's best patch on traces it
// may never have seen, beside every classical policy built here and Belady's bound, with the share
// of the gap to Belady it closes (patches/generalization.hpp).
#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/repository.hpp"
#include "cli/search_report.hpp"
#include "core/files.hpp"
#include "learning/search.hpp"
#include "patches/generalization.hpp"
#include "store/search_records.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>

namespace aicache::cli {
namespace {

struct JudgeArgs {
    const std::string *data = nullptr, *plugins = nullptr; // optimize's --data and --plugins
    std::string search;
    std::vector<std::string> traces, sizes = {"1%", "10%"};
    uint32_t chunks = 50;
    uint64_t trial_cpu_seconds = patches::TrialOptions::kDefaultCpuSeconds;
    bool json = false;
};

int judge(const JudgeArgs &args) {
    auto repo = open_repository(*args.data);
    if (!repo) return fail(repo.error());
    store::SearchRecords records(*repo->db);
    auto found = records.find(args.search);
    if (!found) return fail(found.error());
    if (!found->has_value()) return fail(Status(Errc::not_found, "no search named \"" + args.search + "\" (see `aicache optimize list`)"));
    auto trials = records.trials((*found)->id);
    if (!trials) return fail(trials.error());
    const store::TrialRecord *best = nullptr;
    for (const auto &t : *trials)
        if (t.patch_id && (best == nullptr || learning::ranks_above(t, *best, mean_gain))) best = &t;
    if (best == nullptr) return fail(Status(Errc::not_found, "search \"" + args.search + "\" has no trial with a patch yet"));
    auto patch = repo->pipeline->records().get(*best->patch_id);
    if (!patch) return fail(patch.error());
    auto object = read_file(repo->pipeline->object_path(patch->object_sha256));
    if (!object) return fail(object.error().with_context("patch #" + std::to_string(patch->id) + "'s object"));

    patches::GeneralizationOptions options;
    options.traces = args.traces;
    options.sizes = args.sizes;
    options.chunks = args.chunks;
    options.trial.allow_cpu_seconds(args.trial_cpu_seconds);
    const nlohmann::json evaluation = nlohmann::json::parse((*found)->evaluation, nullptr, false);
    if (evaluation.is_object() && evaluation.contains("trace") && evaluation["trace"].is_string()) options.trained_on.push_back(evaluation["trace"]);
    if (evaluation.is_object() && evaluation.contains("traces") && evaluation["traces"].is_array())
        for (const auto &t : evaluation["traces"])
            if (t.is_string()) options.trained_on.push_back(t);
    auto classical = classical_policies(plugin_dir(*args.plugins));
    if (!classical) return fail(classical.error());
    options.classical = std::move(*classical);
    Progress progress("judging patch #" + std::to_string(patch->id));
    uint64_t step = 0;
    const uint64_t steps = args.traces.size() * (1 + args.sizes.size() * options.classical.size());
    options.progress = [&](const std::string &) { progress.update(++step, steps); };
    auto rows = patches::judge_generalization(*object, "patch-" + std::to_string(patch->id), options);
    progress.suspend();
    if (!rows) return fail(rows.error());

    const std::string what = describe_candidate(best->candidate);
    if (args.json) {
        nlohmann::json out = {{"search", args.search}, {"trial", best->number}, {"patch", patch->id}, {"candidate", what}, {"rows", nlohmann::json::array()}};
        for (const auto &r : *rows) {
            out["rows"].push_back({{"trace", r.trace}, {"size", r.size}, {"trained_on", r.trained_on}, {"best_classical", r.best_classical},
                                   {"best_classical_hit_ratio", r.best_classical_ratio}, {"patch_hit_ratio", r.patch_ratio},
                                   {"belady_hit_ratio", r.belady_ratio}, {"gap_closed", r.gap_closed()}});
            if (r.versus_best)
                out["rows"].back()["versus_best"] = {{"points", r.versus_best->points}, {"low", r.versus_best->low}, {"high", r.versus_best->high},
                                                     {"chunks", r.versus_best->chunks}, {"verdict", r.versus_best->verdict()}};
        }
        std::printf("%s\n", out.dump(2).c_str());
        return 0;
    }
    std::printf("search %s, trial #%lld, patch #%lld: %s\n", args.search.c_str(), static_cast<long long>(best->number), static_cast<long long>(patch->id), what.c_str());
    std::printf("%-34s %6s %-22s %8s %8s %8s %11s %-26s\n", "trace", "size", "best classical", "hit%", "patch%", "belady%", "gap closed",
                args.chunks >= 2 ? "  patch - best, 95% (chunks)" : "");
    size_t at_least = 0, within_noise = 0, behind = 0;
    for (const auto &r : *rows) {
        std::string versus;
        if (r.versus_best) {
            versus = fmt::format("  {:+.3f} [{:+.3f}, {:+.3f}]", r.versus_best->points, r.versus_best->low, r.versus_best->high);
            if (r.patch_ratio < r.best_classical_ratio) ++(r.versus_best->behind() ? behind : within_noise);
        }
        at_least += r.patch_ratio >= r.best_classical_ratio;
        std::printf("%-34s %6s %-22s %7.2f%% %7.2f%% %7.2f%% %10.0f%%%-28s%s\n", std::filesystem::path(r.trace).filename().string().substr(0, 34).c_str(),
                    r.size.c_str(), r.best_classical.c_str(), 100 * r.best_classical_ratio, 100 * r.patch_ratio, 100 * r.belady_ratio,
                    100 * r.gap_closed(), versus.c_str(), r.trained_on ? "  (evolved on)" : "");
    }
    std::printf("at least the best classical policy in %zu of %zu places", at_least, rows->size());
    if (args.chunks >= 2) std::printf("; behind it within the trace's noise in %zu, behind beyond it in %zu", within_noise, behind);
    std::printf("\n");
    return 0;
}

} // namespace

void register_optimize_judge(CLI::App &optimize, const std::string &data, const std::string &plugins) {
    auto args = std::make_shared<JudgeArgs>();
    args->data = &data, args->plugins = &plugins;
    CLI::App *cmd = optimize.add_subcommand("judge", "The search's best patch on traces, beside every classical policy and Belady's bound");
    cmd->add_option("search", args->search, "Search name")->required();
    cmd->add_option("--trace", args->traces, "Traces to judge on (the one it was evolved on is marked)")->delimiter(',')->required();
    cmd->add_option("--size", args->sizes, "Cache sizes")->delimiter(',')->capture_default_str();
    cmd->add_option("--chunks", args->chunks, "Compare the patch with the best classical policy in this many chunks of each trace, for a 95% interval (0: not)")
        ->capture_default_str()
        ->check(CLI::Range(0u, 10000u) & CLI::Validator([](std::string &v) { return v == "1" ? std::string("one chunk has no spread: 0 or at least 2") : std::string(); }, "0 OR >= 2"));
    cmd->add_option("--trial-cpu-seconds", args->trial_cpu_seconds, "CPU seconds the patch's trial may use on each trace")
        ->capture_default_str()
        ->check(CLI::Range(uint64_t{1}, uint64_t{86400}));
    cmd->add_flag("--json", args->json, "JSON");
    on_callback(cmd, [args] { return judge(*args); });
}

} // namespace aicache::cli
