// `aicache demo`: the main job until the full demonstration exists. Starts the plugin host on a
// data directory, qualifies and records the built-in plugins, replays the built-in generated
// workload through each policy at three sizes, hot-swaps policies mid-run, prints the table, then
// takes a generated patch through the pipeline and lets the evolve optimizer submit a few more.
#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/plugin_ops.hpp"
#include "cli/replay_table.hpp"
#include "cli/search_report.hpp"
#include "patches/generator.hpp"
#include "patches/pipeline.hpp"
#include "replay/belady.hpp"
#include "store/database.hpp"
#include "store/search_records.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdio>

namespace aicache::cli {
namespace {

struct DemoArgs {
    std::string data;
    std::string plugins;
    bool json = false;
    replay::GeneratorOptions generator;
};

// The self-modifying path in small: a patch generated from a template the host owns goes through
// the whole pipeline (validation and compile in the sandboxed worker, a trial against lru in a
// locked-down child, approval by rule) and is recorded with its audit trail.
void self_modification(store::Database &db, const std::filesystem::path &data) {
    std::printf("\nself-modification: a segmented-LRU patch generated from the slru template, validated and compiled in\n"
                "the sandbox, linked and replayed against lru in a locked-down trial, approved by rule if it wins by 1 point:\n");
    auto slru = patches::PatchTemplate::load(patches::templates_dir() / "slru.cpp.in");
    auto source = slru ? slru->instantiate({{"protected_share", "0.8"}}) : Expected<std::string>(slru.error());
    if (!source) {
        std::printf("  patch pipeline unavailable: %s\n", source.error().message().c_str());
        return;
    }
    patches::PatchPipeline pipeline(db, data);
    patches::SubmitOptions options;
    options.target = "lru";
    options.who = "demo";
    options.note = "demo: slru from its template";
    options.auto_approve_margin = 1.0;
    auto patch = pipeline.submit(jit::PatchSource{"slru_demo.cpp", *source}, options);
    if (!patch) {
        std::printf("  patch pipeline unavailable: %s\n", patch.error().message().c_str());
        return;
    }
    nlohmann::json report = nlohmann::json::parse(patch->report, nullptr, false);
    std::printf("  patch #%lld: %s (validate %.0f ms, compile %.0f ms)\n", static_cast<long long>(patch->id), store::to_string(patch->state),
                report["validation"].value("validate_ms", 0.0), report["validation"].value("compile_ms", 0.0));
    if (report.contains("trial"))
        for (const auto &c : report["trial"].value("comparisons", nlohmann::json::array()))
            std::printf("    %-5s slru %6.2f%%  lru %6.2f%%  (%+.2f points)\n", c.value("size", "").c_str(), 100 * c.value("candidate_hit_ratio", 0.0),
                        100 * c.value("incumbent_hit_ratio", 0.0), 100 * (c.value("candidate_hit_ratio", 0.0) - c.value("incumbent_hit_ratio", 0.0)));
    std::printf("  (aicache patch show %lld; aicache audit log; install it into a running host with aicache patch install)\n",
                static_cast<long long>(patch->id));
}

// An optimizer submitting code through the host: evolve asks for priority functions, each becomes
// a patch through the same pipeline, and the measured gain is told back. Every run of the demo
// resumes the same recorded search and adds a few trials to it.
void optimizer_search(store::Database &db, const std::filesystem::path &data, const std::shared_ptr<const loader::PluginLibrary> &evolve) {
    if (!evolve) return;
    constexpr uint64_t kTrialsPerRun = 5;
    store::SearchRecords records(db);
    auto existing = records.find("demo");
    uint64_t done = 0;
    if (existing && existing->has_value())
        if (auto trials = records.trials((*existing)->id); trials) done = trials->size();
    learning::SearchOptions options;
    options.name = "demo";
    options.trials = done + kTrialsPerRun;
    options.evaluation = {{"kind", "patch"}, {"target", "lru"}, {"against", "lru"}, {"trace", "generated"}, {"sizes", {"1%", "10%"}}};
    patches::PatchPipeline pipeline(db, data);
    patches::SubmitOptions submit;
    submit.target = "lru";
    submit.who = "optimizer:" + evolve->facts().name + " " + evolve->facts().version + " (search demo, run by demo)";
    submit.note = "search demo";
    std::printf("\nan optimizer at work: evolve proposes eviction priority functions; each is rendered from the host's\n"
                "priority template and goes through the same pipeline (%s trials %llu-%llu; each run of the demo adds %llu):\n",
                done ? "resuming its recorded search," : "a new search,", static_cast<unsigned long long>(done + 1),
                static_cast<unsigned long long>(done + kTrialsPerRun), static_cast<unsigned long long>(kTrialsPerRun));
    options.on_trial = [](const store::TrialRecord &t) {
        std::fputs(trial_line(t).c_str(), stdout);
        std::fflush(stdout);
    };
    auto summary = learning::run_search(db, evolve, options, patch_evaluator(pipeline, submit, patches::templates_dir()));
    if (!summary) {
        std::printf("  search unavailable: %s\n", summary.error().message().c_str());
        return;
    }
    if (summary->best)
        std::printf("  best so far: trial #%lld, %+.2f points over lru, %s\n  (aicache optimize show demo; aicache optimize run evolve --search demo --trials N)\n",
                    static_cast<long long>(summary->best->number), summary->best->score, describe_candidate(summary->best->candidate).c_str());
}

int run(const DemoArgs &args) {
    auto data = data_dir(args.data);
    auto dir = plugin_dir(args.plugins);
    std::printf("aicache demo: plugins from %s, data in %s\n", dir.string().c_str(), data.string().c_str());

    auto db = store::Database::open(data / "aicache.db");
    if (!db) return fail(db.error());
    loader::PluginHost host(**db, data / "plugins", child_qualifier());

    std::vector<std::filesystem::path> files;
    std::error_code ec;
    for (const auto &entry : std::filesystem::directory_iterator(dir, ec))
        if (entry.path().extension() == ".so") files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    if (files.empty()) return fail(Status(Errc::not_found, "no plugins in " + dir.string() + ": build first (make run) or pass --plugins"));

    std::map<std::string, std::shared_ptr<const loader::PluginLibrary>> policies;
    std::shared_ptr<const loader::PluginLibrary> evolve;
    for (const auto &file : files) {
        auto loaded = host.load(file, "demo");
        if (!loaded) return fail(loaded.error());
        std::printf("  qualified and loaded %-10s %s  version #%lld  sha256 %s\n", loaded->record.name.c_str(),
                    loaded->record.version.c_str(), static_cast<long long>(loaded->record.id),
                    loaded->record.content_hash.substr(0, 12).c_str());
        if (loaded->library->policy() != nullptr) policies[loaded->record.name] = loaded->library;
        if (loaded->library->optimizer() != nullptr && loaded->record.name == "evolve") evolve = loaded->library;
    }

    replay::Trace trace = replay::generate_workload(args.generator);
    std::vector<ReplayRow> rows;
    auto replay_row = [&](const std::string &label, std::shared_ptr<const loader::PluginLibrary> policy,
                          std::shared_ptr<const loader::PluginLibrary> swap_to, const std::string &size) -> Status {
        auto capacity = replay::parse_capacity(size, trace.footprint_bytes);
        if (!capacity) return capacity.error();
        replay::ReplayOptions options;
        options.capacity_bytes = *capacity;
        options.swap_to = std::move(swap_to);
        options.swap_after = trace.requests.size() / 2;
        Progress progress(label + " @ " + size);
        options.progress = [&](uint64_t done, uint64_t total) { progress.update(done, total); };
        auto result = replay::run_replay(trace, policy, options);
        if (!result) return result.error();
        rows.push_back({*result, size});
        return Status::ok();
    };

    // A second mapping of s3fifo (a different path, so a separate library) to show a warm swap:
    // the state moves over and the run is identical to one with no swap at all.
    std::shared_ptr<const loader::PluginLibrary> s3fifo_copy;
    if (policies.count("s3fifo")) {
        auto copy = open_policy((dir / "s3fifo.so").string(), dir);
        if (copy) s3fifo_copy = std::move(copy.value());
    }
    for (const std::string size : {"1%", "5%", "10%"}) {
        for (const auto &[name, library] : policies)
            if (Status s = replay_row(name, library, nullptr, size); !s) return fail(s);
        if (policies.count("lru") && policies.count("s3fifo"))
            if (Status s = replay_row("lru->s3fifo", policies["lru"], policies["s3fifo"], size); !s) return fail(s);
        if (s3fifo_copy)
            if (Status s = replay_row("s3fifo->s3fifo", policies["s3fifo"], s3fifo_copy, size); !s) return fail(s);
        auto capacity = replay::parse_capacity(size, trace.footprint_bytes);
        if (!capacity) return fail(capacity.error());
        rows.push_back({replay::run_belady(trace, *capacity), size});
    }
    if (args.json) {
        std::string out = to_json(trace, rows).dump(2) + "\n";
        std::fwrite(out.data(), 1, out.size(), stdout);
        return 0;
    }
    std::string table = format_table(trace, rows);
    std::printf("\n%s\n", table.c_str());
    std::printf("a->b rows hot-swap the policy after half the requests: lru->s3fifo starts s3fifo cold (it learns the\n"
                "resident entries, oldest access first); s3fifo->s3fifo carries the warm state over (same state format),\n"
                "so its figures equal the uninterrupted s3fifo run. belady is the clairvoyant bound (it knows the future).\n");
    self_modification(**db, data);
    optimizer_search(**db, data, evolve);
    return 0;
}

} // namespace

void register_demo(CLI::App &app) {
    auto args = std::make_shared<DemoArgs>();
    args->generator.requests = 1'000'000;
    CLI::App *cmd = app.add_subcommand("demo", "Load the built-in policies, replay the generated workload, hot-swap, print the table");
    cmd->add_option("--data", args->data, "Data directory (default: $AICACHE_DATA or ~/.local/share/aicache)");
    cmd->add_option("--plugins", args->plugins, "Plugin directory (default: next to the aicache binary)");
    cmd->add_option("--requests", args->generator.requests, "Requests in the generated workload")->capture_default_str();
    cmd->add_option("--seed", args->generator.seed, "Workload seed")->capture_default_str();
    cmd->add_flag("--json", args->json, "Print JSON instead of a table");
    cmd->callback([args] {
        if (int code = run(*args); code != 0) throw CLI::RuntimeError(code);
    });
}

} // namespace aicache::cli
