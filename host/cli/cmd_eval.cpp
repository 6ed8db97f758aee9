// `aicache eval semantic PAIRS.jsonl`: train a learner on one split of labelled question pairs and
// report, on questions it never saw, how many paraphrases it would answer from the cache and how
// many non-paraphrases it would wrongly answer, beside the static baselines, in the same run.
#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/gnuplot.hpp"
#include "core/files.hpp"
#include "learning/semantic_eval.hpp"
#include "learning/threshold_eval.hpp"
#include "loader/qualify.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <random>

namespace aicache::cli {
namespace {

struct EvalArgs {
    std::string plugins, pairs, learner = "encoder", config = "{}", plot, save_checkpoint;
    std::vector<double> deltas = {0.01, 0.02};
    double target = 0.02, budget_seconds = 60, validation_share = 0.1, test_share = 0.2, confidence_z = 1.645;
    uint64_t limit = 0, seed = 1;
    bool json = false;
};

int semantic(const EvalArgs &args) {
    auto pairs = learning::read_pairs(args.pairs, args.limit);
    if (!pairs) return fail(pairs.error());
    learning::PairSplit split = learning::split_by_question(*pairs, args.validation_share, args.test_share, args.seed);
    auto learner = open_learner(args.learner, plugin_dir(args.plugins));
    if (!learner) return fail(learner.error());

    learning::SemanticEvalOptions options;
    options.target_false_hit_rate = args.target;
    options.confidence_z = args.confidence_z;
    options.keep_checkpoint = !args.save_checkpoint.empty();
    options.train_budget_ms = static_cast<uint64_t>(args.budget_seconds * 1000);
    options.learner_config = args.config;
    Progress progress("training " + args.learner);
    options.on_progress = [&](uint64_t done, uint64_t total) { progress.update(done, total); };
    auto report = learning::evaluate_semantic(split, *learner, options);
    progress.suspend();
    if (!report) return fail(report.error());

    if (!args.save_checkpoint.empty())
        if (Status saved = write_file_atomic(args.save_checkpoint, report->checkpoint); !saved) return fail(saved.with_context("--save-checkpoint"));
    const learning::MethodResult &learned = report->methods.back();
    double best_baseline = 0;
    for (size_t i = 0; i + 1 < report->methods.size(); ++i) best_baseline = std::max(best_baseline, report->methods[i].chosen.hit_rate);
    const double ratio = best_baseline > 0 ? learned.chosen.hit_rate / best_baseline : 0;

    if (args.json) {
        nlohmann::json out = {{"pairs", args.pairs},
                              {"split", {{"train", report->train_pairs}, {"validation", report->validation_pairs}, {"test", report->test_pairs}, {"seed", args.seed}}},
                              {"target_false_hit_rate", args.target},
                              {"learner", report->learner},
                              {"train_seconds", report->train_seconds},
                              {"train_metrics", nlohmann::json::parse(report->train_metrics, nullptr, false)},
                              {"learned_over_best_baseline", ratio},
                              {"methods", nlohmann::json::array()}};
        for (const auto &m : report->methods) {
            nlohmann::json curve = nlohmann::json::array();
            // Enough of the curve to draw it, not every distinct score.
            size_t step = std::max<size_t>(1, m.curve.size() / 200);
            for (size_t i = 0; i < m.curve.size(); i += step) curve.push_back({m.curve[i].threshold, m.curve[i].false_hit_rate, m.curve[i].hit_rate});
            out["methods"].push_back({{"name", m.name}, {"chosen", learning::operating_point_json(m.chosen)}, {"oracle", learning::operating_point_json(m.oracle)}, {"curve", curve}});
        }
        std::printf("%s\n", out.dump(2).c_str());
    } else {
        std::printf("%s: %zu train / %zu validation / %zu test pairs (questions held out by component, seed %llu)\n", args.pairs.c_str(),
                    report->train_pairs, report->validation_pairs, report->test_pairs, static_cast<unsigned long long>(args.seed));
        std::printf("trained %s for %.1f s: %s\n\n", report->learner.c_str(), report->train_seconds, report->train_metrics.c_str());
        std::printf("on the test questions, at the threshold chosen on validation for a false-hit rate <= %.1f%% (at its %s):\n", 100 * args.target,
                    args.confidence_z > 0 ? fmt::format("upper bound, z = {}", args.confidence_z).c_str() : "point estimate");
        std::printf("%-26s %10s %9s %11s %10s   %s\n", "method", "threshold", "hit rate", "false hits", "precision", "best static on test (oracle)");
        for (const auto &m : report->methods)
            std::printf("%-26s %10.4f %8.1f%% %10.2f%% %9.1f%%   %.1f%% hits at %.2f%% false\n", m.name.c_str(), m.chosen.threshold,
                        100 * m.chosen.hit_rate, 100 * m.chosen.false_hit_rate, 100 * m.chosen.precision, 100 * m.oracle.hit_rate,
                        100 * m.oracle.false_hit_rate);
        std::printf("\n%s hits %.2fx the best static baseline's paraphrases at the same false-hit target\n", learned.name.c_str(), ratio);
    }
    if (!args.plot.empty()) {
        std::vector<PlotSeries> series;
        for (const auto &m : report->methods) {
            PlotSeries s{m.name, {}};
            for (const auto &p : m.curve) s.points.emplace_back(100 * p.false_hit_rate, 100 * p.hit_rate);
            series.push_back(std::move(s));
        }
        PlotSpec spec{"held-out paraphrase hits: " + std::filesystem::path(args.pairs).filename().string(), "false-hit rate (%)", "hit rate (%)", false,
                      std::make_pair(0.0, 20.0), std::make_pair(0.0, 100.0)};
        if (Status s = plot_lines(spec, series, args.plot); !s) return fail(s);
        if (!args.json) std::printf("curves: %s\n", args.plot.c_str());
    }
    return 0;
}

int threshold(const EvalArgs &args) {
    auto pairs = learning::read_pairs(args.pairs, args.limit);
    if (!pairs) return fail(pairs.error());
    std::mt19937_64 rng(args.seed);
    std::shuffle(pairs->begin(), pairs->end(), rng);
    auto learner = open_learner(args.learner == "encoder" ? "threshold" : args.learner, plugin_dir(args.plugins));
    if (!learner) return fail(learner.error());
    nlohmann::json out = {{"pairs", args.pairs}, {"requests", pairs->size()}, {"learner", (*learner)->facts().name_and_version()},
                          {"runs", nlohmann::json::array()}};
    if (!args.json)
        std::printf("%s: %zu queries in a shuffled stream (seed %llu), similarity: TF-IDF cosine; an explored query's outcome is\n"
                    "observed, a served one only counted. false hits: the share of non-paraphrase queries served.\n\n"
                    "%-7s %9s %9s %11s %12s %10s %8s   %s\n",
                    args.pairs.c_str(), pairs->size(), static_cast<unsigned long long>(args.seed), "delta", "served", "wrong", "false hits",
                    "wrong/served", "paraphr.", "cold", "best static threshold in hindsight (same delta)");
    for (double delta : args.deltas) {
        Progress progress(fmt::format("delta {:.3f}", delta));
        auto run = learning::run_threshold_stream(*pairs, *learner, delta, args.config,
                                                  [&](uint64_t done, uint64_t total) { progress.update(done, total); });
        progress.suspend();
        if (!run) return fail(run.error());
        out["runs"].push_back({{"delta", delta}, {"served", run->served}, {"served_wrong", run->served_wrong},
                               {"false_hit_rate", run->false_hit_rate()}, {"negatives", run->negatives},
                               {"wrong_among_served", run->wrong_among_served()}, {"paraphrases_served", run->paraphrases_served()},
                               {"learner_metrics", nlohmann::json::parse(run->final_metrics, nullptr, false)},
                               {"explored", run->explored}, {"cold", run->cold}, {"positives", run->positives},
                               {"static_threshold", run->static_threshold}, {"static_paraphrases_served", run->static_paraphrases_served},
                               {"static_false_hit_rate", run->static_false_hit_rate}});
        if (!args.json)
            std::printf("%-7.3f %9llu %9llu %10.2f%% %11.1f%% %9.1f%% %8llu   %.1f%% of paraphrases at %.4f (%.2f%% false hits)\n", delta,
                        static_cast<unsigned long long>(run->served), static_cast<unsigned long long>(run->served_wrong),
                        100 * run->false_hit_rate(), 100 * run->wrong_among_served(), 100 * run->paraphrases_served(),
                        static_cast<unsigned long long>(run->cold), 100 * run->static_paraphrases_served, run->static_threshold,
                        100 * run->static_false_hit_rate);
    }
    if (args.json) std::printf("%s\n", out.dump(2).c_str());
    return 0;
}

} // namespace

void register_eval(CLI::App &app) {
    CLI::App *eval = app.add_subcommand("eval", "Measure learners on held-out data");
    eval->require_subcommand(1);
    auto args = std::make_shared<EvalArgs>();
    eval->add_option("--plugins", args->plugins, "Plugin directory (default: beside the executable)");

    CLI::App *semantic_cmd = eval->add_subcommand("semantic", "Paraphrase hits and false hits on held-out question pairs, against static baselines");
    semantic_cmd->add_option("pairs", args->pairs, "JSONL pairs: {\"a\": ..., \"b\": ..., \"label\": 0|1} per line")->required();
    semantic_cmd->add_option("--learner", args->learner, "Learner plugin: a name in the plugin directory, or a .so")->capture_default_str();
    semantic_cmd->add_option("--config", args->config, "The learner's configuration (JSON object)")->capture_default_str();
    semantic_cmd->add_option("--target-error", args->target, "False-hit rate the thresholds must stay under")->capture_default_str();
    semantic_cmd->add_option("--budget-seconds", args->budget_seconds, "Training time")->capture_default_str();
    semantic_cmd->add_option("--confidence-z", args->confidence_z,
                             "Choose thresholds where the validation false-hit rate's Wilson upper bound meets the target (0: the rate itself)")
        ->capture_default_str();
    semantic_cmd->add_option("--limit", args->limit, "Use only the first N pairs (0: all)")->capture_default_str();
    semantic_cmd->add_option("--seed", args->seed, "Seed of the question split")->capture_default_str();
    semantic_cmd->add_option("--validation-share", args->validation_share, "Share of question components for choosing thresholds")->capture_default_str();
    semantic_cmd->add_option("--test-share", args->test_share, "Share of question components held out for the report")->capture_default_str();
    semantic_cmd->add_option("--plot", args->plot, "Draw hit rate against false-hit rate for every method (.svg or .png)");
    semantic_cmd->add_option("--save-checkpoint", args->save_checkpoint, "Write the trained learner's state here (for serve --encoder-checkpoint)");
    semantic_cmd->add_flag("--json", args->json, "JSON, with each method's curve");
    on_callback(semantic_cmd, [args] { return semantic(*args); });

    CLI::App *threshold_cmd = eval->add_subcommand("threshold", "A threshold learner online over a stream of labelled pairs: wrong answers served against δ");
    threshold_cmd->add_option("pairs", args->pairs, "JSONL pairs: {\"a\": cached question, \"b\": query, \"label\": 0|1} per line")->required();
    threshold_cmd->add_option("--learner", args->learner, "Threshold learner plugin (default: threshold)");
    threshold_cmd->add_option("--delta", args->deltas, "Targets for the share of served answers that are wrong")->delimiter(',')->capture_default_str();
    threshold_cmd->add_option("--config", args->config, "Extra learner configuration (JSON object), e.g. {\"cold_explores\": \"false\"}");
    threshold_cmd->add_option("--limit", args->limit, "Use only the first N pairs (0: all)")->capture_default_str();
    threshold_cmd->add_option("--seed", args->seed, "Seed of the stream's order")->capture_default_str();
    threshold_cmd->add_flag("--json", args->json, "JSON");
    on_callback(threshold_cmd, [args] { return threshold(*args); });
    register_eval_continual(*eval, args->plugins); // args lives in the callbacks above
    register_eval_fewshot(*eval, args->plugins);
}

} // namespace aicache::cli
