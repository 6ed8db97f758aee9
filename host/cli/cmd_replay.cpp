// `aicache replay [TRACE] --policy NAME... --size N... [--json]`
#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/replay_plot.hpp"
#include "cli/replay_table.hpp"
#include "replay/belady.hpp"

#include <cstdio>

namespace aicache::cli {
namespace {

struct ReplayArgs {
    std::string trace;
    std::vector<std::string> policies{"all"};
    std::vector<std::string> sizes{"1%", "5%", "10%"};
    bool json = false;
    bool belady = true;
    std::string plot;
    std::string plugins;
    uint32_t shards = 1;
    uint32_t chunks = 0; // > 0: each result's hits per chunk, in the JSON
    std::string policy_parameters; // a JSON object every policy replayed gets
    replay::GeneratorOptions generator;
};

int run(const ReplayArgs &args) {
    Expected<replay::Trace> trace = args.trace.empty() ? Expected<replay::Trace>(replay::generate_workload(args.generator))
                                                       : replay::read_trace(args.trace);
    if (!trace) return fail(trace.error());
    auto dir = plugin_dir(args.plugins);
    std::vector<std::string> policies;
    for (const auto &p : args.policies) {
        if (p == "all") {
            auto every = plugin_names(dir); // other kinds are skipped below
            policies.insert(policies.end(), every.begin(), every.end());
        } else {
            policies.push_back(p);
        }
    }
    if (policies.empty()) return fail(Status(Errc::not_found, "no policy plugins in " + dir.string() + ": pass --plugins DIR"));

    std::vector<ReplayRow> rows;
    for (const auto &name : policies) {
        auto library = open_policy(name, dir);
        if (!library) return fail(library.error());
        if ((*library)->policy() == nullptr) continue; // "all" may meet other kinds
        for (const auto &size : args.sizes) {
            auto capacity = replay::parse_cache_size(size, *trace);
            if (!capacity) return fail(capacity.error());
            replay::ReplayOptions options;
            options.capacity_bytes = capacity->amount;
            options.count_objects = capacity->objects;
            options.shards = args.shards;
            options.chunks = args.chunks;
            options.policy_parameters = args.policy_parameters;
            Progress progress(name + " @ " + size);
            options.progress = [&](uint64_t done, uint64_t total) { progress.update(done, total); };
            auto result = replay::run_replay(*trace, *library, options);
            if (!result) return fail(result.error().with_context("replaying " + name + " at " + size));
            rows.push_back({*result, size});
        }
    }
    // The clairvoyant bound, in every table, so each policy can be read against it.
    if (args.belady) {
        for (const auto &size : args.sizes) {
            auto capacity = replay::parse_cache_size(size, *trace);
            if (!capacity) return fail(capacity.error());
            rows.push_back({replay::run_belady(*trace, capacity->amount, capacity->objects), size});
        }
    }
    std::string out = args.json ? to_json(*trace, rows).dump(2) + "\n" : format_table(*trace, rows);
    std::fwrite(out.data(), 1, out.size(), stdout);
    if (!args.plot.empty()) {
        if (Status plotted = plot_miss_ratio_curves(*trace, rows, args.plot); !plotted) return fail(plotted);
        if (!args.json) std::printf("miss ratio curves written to %s\n", args.plot.c_str());
    }
    return 0;
}

} // namespace

void register_replay(CLI::App &app) {
    auto args = std::make_shared<ReplayArgs>();
    CLI::App *cmd = app.add_subcommand("replay", "Replay a trace through cache policies and report hit ratios");
    cmd->add_option("trace", args->trace,
                    "Trace file: oracleGeneral binary (*.bin) or one key per line; omit for the built-in generated workload");
    cmd->add_option("--policy,-p", args->policies, "Policy names (from the plugin directory), .so paths, or 'all'; comma-separated or repeated")
        ->delimiter(',')
        ->capture_default_str();
    cmd->add_option("--size,-s", args->sizes, "Cache sizes: bytes (4096, 64KiB, 2MiB), a share of the footprint (10%), or objects (5000obj, 10%obj); comma-separated or repeated")
        ->delimiter(',')
        ->capture_default_str();
    cmd->add_flag("!--no-belady", args->belady, "Leave out the clairvoyant bound (Belady) rows");
    cmd->add_option("--plot", args->plot, "Also draw miss-ratio curves per policy into FILE.svg or FILE.png (gnuplot)");
    cmd->add_flag("--json", args->json, "Print JSON instead of a table");
    cmd->add_option("--chunks", args->chunks, "With --json: each result's hits in this many consecutive chunks of the trace (chunk_hits)")
        ->check(CLI::Range(0u, 10000u));
    cmd->add_option("--plugins", args->plugins, "Plugin directory (default: next to the aicache binary)");
    cmd->add_option("--shards", args->shards, "Cache shards (1 reproduces each policy exactly)")->capture_default_str();
    cmd->add_option("--policy-parameters", args->policy_parameters, "Parameters (a JSON object) the policies replay with, e.g. what learn now recommends");
    cmd->add_option("--requests", args->generator.requests, "Generated workload: number of requests")->capture_default_str();
    cmd->add_option("--objects", args->generator.objects, "Generated workload: number of distinct objects")->capture_default_str();
    cmd->add_option("--seed", args->generator.seed, "Generated workload: random seed")->capture_default_str();
    cmd->add_option("--zipf", args->generator.zipf_alpha, "Generated workload: Zipf exponent")->capture_default_str();
    cmd->callback([args] {
        if (int code = run(*args); code != 0) throw CLI::RuntimeError(code);
    });
}

} // namespace aicache::cli
