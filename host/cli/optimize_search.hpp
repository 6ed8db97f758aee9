// What the ways `aicache optimize run` measures candidates share: the command's options, how a
// trial is printed and answered in JSON, and the searches measured on labelled question pairs
// (cli/optimize_matching.cpp); patches and policy replays are in cli/cmd_optimize.cpp.
#pragma once

#include "cli/common.hpp"
#include "learning/search.hpp"
#include "loader/plugin_library.hpp"
#include "patches/trial.hpp"
#include "replay/replay.hpp"
#include "store/database.hpp"
#include "store/search_records.hpp"

#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace aicache::cli {

struct OptimizeArgs {
    std::string data, plugins;
    std::string optimizer, search, space;
    uint64_t trials = 20;
    std::string target = "s3fifo", against, trace;
    std::vector<std::string> sizes = {"1%", "10%"};
    std::optional<double> auto_approve_margin;
    uint64_t cpu_seconds = 30, trial_cpu_seconds = patches::TrialOptions::kDefaultCpuSeconds;
    std::string memory = "3GiB";
    std::string measure = "patch";
    std::string baseline = "incumbent";
    std::string score = "balanced"; // with --baseline best-classical
    std::string pairs, pairs_b;
    uint64_t steps_a = 2000, steps_b = 1000;
    uint64_t pairs_limit = 0, split_seed = 1;
    std::string learner = "encoder", learner_config = "{}";
    double latency_target_us = 20, latency_weight = -0.07, target_error = 0.1;
    double tune_share = 0.5;
    double delta = 0.02;
    replay::Objective objective = replay::Objective::hits;
    double trial_warm_share = 0;
    bool json = false;
};

nlohmann::json trial_json(const store::TrialRecord &t);
// Each recorded trial as a line (not with --json), and the progress bar.
std::function<void(const store::TrialRecord &)> trial_printer(const OptimizeArgs &args, Progress &progress);
// Runs `options`' search on `progress`'s bar, printing each trial as it ends, after the line
// "search NAME: OPTIMIZER VERSION, N trials, each <each>" (neither with --json).
Expected<learning::SearchSummary> run_reported_search(const OptimizeArgs &args, store::Database &db,
                                                      const std::shared_ptr<const loader::PluginLibrary> &library, learning::SearchOptions &options,
                                                      const learning::Evaluator &evaluate, Progress &progress, const std::string &each);
// What every --json answer of `optimize run` starts with.
nlohmann::json search_json(const std::string &name, const loader::PluginFacts &facts, const learning::SearchSummary &summary);

// `--measure pairs` (canon), `--measure encoder` (nas), `--measure threshold` (tune over the
// threshold learner's parameters) and `--measure drift` (tune over how the encoder continues).
int run_pairs_search(const OptimizeArgs &args, const std::shared_ptr<loader::PluginLibrary> &library, store::Database &db,
                     learning::SearchOptions options);
int run_encoder_search(const OptimizeArgs &args, const std::shared_ptr<loader::PluginLibrary> &library, store::Database &db,
                       learning::SearchOptions options);
int run_threshold_search(const OptimizeArgs &args, const std::shared_ptr<loader::PluginLibrary> &library, store::Database &db,
                         learning::SearchOptions options);
int run_drift_search(const OptimizeArgs &args, const std::shared_ptr<loader::PluginLibrary> &library, store::Database &db,
                     learning::SearchOptions options);

} // namespace aicache::cli
