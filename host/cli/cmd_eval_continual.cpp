// `aicache eval drift A B` and `aicache eval transfer PRETRAIN TARGET`: what a matching learner
// keeps of one domain when it learns another (naive, replay, replay+EWC side by side), and what
// pretraining buys when the target has few labels (the learning curve against scratch). Both are
// measured on questions held out from every training run (learning/continual_eval.hpp).
#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/eval_json.hpp"
#include "cli/gnuplot.hpp"
#include "learning/continual_eval.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdio>

namespace aicache::cli {
namespace {

struct ContinualArgs {
    std::string plugins, first, second, learner = "encoder", config = "{}", plot;
    double budget_a = 120, budget_b = 60, ewc_lambda = 100, target = 0.02, confidence_z = 1.645, validation_share = 0.1, test_share = 0.2;
    std::vector<size_t> labels = {100, 300, 1000, 3000};
    uint64_t limit = 0, seed = 1;
    bool json = false;
};

Expected<learning::PairSplit> split_of(const std::string &file, const ContinualArgs &args) {
    auto pairs = learning::read_pairs(file, args.limit);
    if (!pairs) return pairs.error();
    return learning::split_by_question(*pairs, args.validation_share, args.test_share, args.seed);
}

// The flags both commands share, and a progress bar that names the step it is on.
struct Common {
    explicit Common(const ContinualArgs &args, learning::ContinualOptions &options) {
        options.target_false_hit_rate = args.target;
        options.confidence_z = args.confidence_z;
        options.learner_config = args.config;
        options.on_progress = [this](const std::string &step, uint64_t done, uint64_t total) {
            if (step != shown) bar = Progress(step), shown = step;
            bar.update(done, total);
        };
    }
    Progress bar{""};
    std::string shown;
};

std::string rate(const learning::OperatingPoint &p) { return fmt::format("{:5.1f}%", 100 * p.hit_rate); }

int drift(const ContinualArgs &args) {
    auto a = split_of(args.first, args);
    if (!a) return fail(a.error());
    auto b = split_of(args.second, args);
    if (!b) return fail(b.error());
    auto learner = open_learner(args.learner, plugin_dir(args.plugins));
    if (!learner) return fail(learner.error());
    learning::DriftOptions options;
    options.budget_a_ms = static_cast<uint64_t>(args.budget_a * 1000);
    options.budget_b_ms = static_cast<uint64_t>(args.budget_b * 1000);
    options.ewc_lambda = args.ewc_lambda;
    Common common(args, options);
    auto report = learning::evaluate_drift(*a, *b, *learner, options);
    common.bar.suspend();
    if (!report) return fail(report.error());

    const double base_a = report->after_a.a.hit_rate;
    if (args.json) {
        nlohmann::json out = {{"a", args.first},
                              {"b", args.second},
                              {"method", report->method},
                              {"target_false_hit_rate", args.target},
                              {"after_a", {{"a", operating_point_json(report->after_a.a)}, {"b", operating_point_json(report->after_a.b)}}},
                              {"modes", nlohmann::json::array()}};
        for (const auto &row : report->rows)
            out["modes"].push_back({{"mode", row.mode},
                                    {"a", operating_point_json(row.after_b.a)},
                                    {"b", operating_point_json(row.after_b.b)},
                                    {"forgetting_points", 100 * (base_a - row.after_b.a.hit_rate)},
                                    {"train_metrics", nlohmann::json::parse(row.train_metrics, nullptr, false)}});
        std::printf("%s\n", out.dump(2).c_str());
        return 0;
    }
    std::printf("A %s: %zu train / %zu test pairs; B %s: %zu train / %zu test pairs (questions held out)\n", args.first.c_str(), a->train.size(),
                a->test.size(), args.second.c_str(), b->train.size(), b->test.size());
    std::printf("held-out hit rate at a false-hit rate <= %.1f%% (%s):\n\n", 100 * args.target, report->method.c_str());
    std::printf("%-22s %8s %8s %18s\n", "", "on A", "on B", "forgot of A");
    std::printf("%-22s %8s %8s %18s\n", "after A", rate(report->after_a.a).c_str(), rate(report->after_a.b).c_str(), "");
    for (const auto &row : report->rows)
        std::printf("%-22s %8s %8s %15.1f pt\n", ("then B, " + row.mode).c_str(), rate(row.after_b.a).c_str(), rate(row.after_b.b).c_str(),
                    100 * (base_a - row.after_b.a.hit_rate));
    return 0;
}

int transfer(const ContinualArgs &args) {
    auto pretrain = learning::read_pairs(args.first, args.limit);
    if (!pretrain) return fail(pretrain.error());
    auto target = split_of(args.second, args);
    if (!target) return fail(target.error());
    auto learner = open_learner(args.learner, plugin_dir(args.plugins));
    if (!learner) return fail(learner.error());
    learning::TransferOptions options;
    options.pretrain_ms = static_cast<uint64_t>(args.budget_a * 1000);
    options.finetune_ms = static_cast<uint64_t>(args.budget_b * 1000);
    options.label_counts = args.labels;
    options.seed = args.seed;
    Common common(args, options);
    auto report = learning::evaluate_transfer(*pretrain, *target, *learner, options);
    common.bar.suspend();
    if (!report) return fail(report.error());

    if (args.json) {
        nlohmann::json out = {{"pretrain", args.first},
                              {"target", args.second},
                              {"method", report->method},
                              {"target_false_hit_rate", args.target},
                              {"pretrained_only", operating_point_json(report->pretrained_only)},
                              {"curve", nlohmann::json::array()}};
        for (const auto &p : report->curve)
            out["curve"].push_back({{"labels", p.labels}, {"fine_tuned", operating_point_json(p.fine_tuned)}, {"scratch", operating_point_json(p.scratch)}});
        std::printf("%s\n", out.dump(2).c_str());
    } else {
        std::printf("pretrained on %s (%zu pairs, %.0f s); target %s: %zu train / %zu test pairs (questions held out)\n", args.first.c_str(),
                    pretrain->size(), args.budget_a, args.second.c_str(), target->train.size(), target->test.size());
        std::printf("held-out hit rate on the target at a false-hit rate <= %.1f%% (%s), each run trained %.0f s:\n\n", 100 * args.target,
                    report->method.c_str(), args.budget_b);
        std::printf("%8s %12s %10s\n", "labels", "fine-tuned", "scratch");
        std::printf("%8d %12s %10s\n", 0, rate(report->pretrained_only).c_str(), "-");
        for (const auto &p : report->curve) std::printf("%8zu %12s %10s\n", p.labels, rate(p.fine_tuned).c_str(), rate(p.scratch).c_str());
    }
    if (!args.plot.empty()) {
        PlotSeries tuned{"pretrained, then fine-tuned", {{0.0, 100 * report->pretrained_only.hit_rate}}}, scratch{"from scratch", {}};
        for (const auto &p : report->curve) {
            tuned.points.emplace_back(double(p.labels), 100 * p.fine_tuned.hit_rate);
            scratch.points.emplace_back(double(p.labels), 100 * p.scratch.hit_rate);
        }
        PlotSpec spec{"learning curve on " + std::filesystem::path(args.second).filename().string(), "target labels",
                      fmt::format("held-out hit rate (%) at <= {:.0f}% false hits", 100 * args.target), false, std::nullopt, std::nullopt};
        if (Status s = plot_lines(spec, {tuned, scratch}, args.plot); !s) return fail(s);
        if (!args.json) std::printf("curve: %s\n", args.plot.c_str());
    }
    return 0;
}

void common_options(CLI::App *cmd, ContinualArgs &args) {
    cmd->add_option("--learner", args.learner, "Learner plugin: a name in the plugin directory, or a .so")->capture_default_str();
    cmd->add_option("--config", args.config, "The learner's configuration (JSON object)")->capture_default_str();
    cmd->add_option("--target-error", args.target, "False-hit rate at which held-out hits are measured")->capture_default_str();
    cmd->add_option("--confidence-z", args.confidence_z, "Thresholds where the validation false-hit rate's Wilson bound meets the target")
        ->capture_default_str();
    cmd->add_option("--limit", args.limit, "Use only the first N pairs of each file (0: all)")->capture_default_str();
    cmd->add_option("--seed", args.seed, "Seed of the question splits")->capture_default_str();
    cmd->add_option("--validation-share", args.validation_share, "Share of each set's questions for choosing thresholds")->capture_default_str();
    cmd->add_option("--test-share", args.test_share, "Share of each set's questions held out for the measurement")->capture_default_str();
    cmd->add_flag("--json", args.json, "JSON");
}

} // namespace

void register_eval_continual(CLI::App &eval, std::string &plugins) {
    auto args = std::make_shared<ContinualArgs>();

    CLI::App *drift_cmd = eval.add_subcommand("drift", "Train on A, then on B: what naive fine-tuning, replay and replay+EWC forget of A");
    drift_cmd->add_option("a", args->first, "Domain A's pairs (JSONL)")->required();
    drift_cmd->add_option("b", args->second, "Domain B's pairs (JSONL)")->required();
    drift_cmd->add_option("--budget-a", args->budget_a, "Seconds of training on A")->capture_default_str();
    drift_cmd->add_option("--budget-b", args->budget_b, "Seconds of training on B, for each mode")->capture_default_str();
    drift_cmd->add_option("--ewc-lambda", args->ewc_lambda, "Consolidation strength of the replay+EWC mode")->capture_default_str();
    common_options(drift_cmd, *args);
    on_callback(drift_cmd, [args, &plugins] {
        args->plugins = plugins;
        return drift(*args);
    });

    CLI::App *transfer_cmd = eval.add_subcommand("transfer", "Pretrain on one set, fine-tune on n target labels; against scratch, for each n");
    transfer_cmd->add_option("pretrain", args->first, "The large set to pretrain on (JSONL pairs)")->required();
    transfer_cmd->add_option("target", args->second, "The target set (JSONL pairs)")->required();
    transfer_cmd->add_option("--labels", args->labels, "Numbers of target pairs to learn from")->delimiter(',')->capture_default_str();
    transfer_cmd->add_option("--pretrain-seconds", args->budget_a, "Seconds of pretraining")->capture_default_str();
    transfer_cmd->add_option("--finetune-seconds", args->budget_b, "Seconds of training for each point and each arm")->capture_default_str();
    transfer_cmd->add_option("--plot", args->plot, "Draw the learning curve (.svg or .png)");
    common_options(transfer_cmd, *args);
    on_callback(transfer_cmd, [args, &plugins] {
        args->plugins = plugins;
        return transfer(*args);
    });
}

} // namespace aicache::cli
