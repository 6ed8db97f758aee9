// `aicache eval fewshot PAIRS`: what verified paraphrases of a cached question are worth to the
// matching step, on paraphrase clusters no training run saw (learning/fewshot_eval.hpp).
#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "core/files.hpp"
#include "learning/fewshot_eval.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdio>

namespace aicache::cli {
namespace {

struct FewShotArgs {
    std::string plugins, pairs, learner = "encoder", config = "{}", checkpoint, save_checkpoint;
    std::vector<size_t> shots = {1, 2, 4};
    size_t neighbours = 4, distractors = 20'000;
    float temperature = 16.0f;
    double budget = 60, target = 0.02;
    uint64_t limit = 0, seed = 1;
    size_t show_wrong = 0;
    bool json = false;
};

nlohmann::json wrong_json(const std::vector<learning::FewShotWrong> &wrong) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto &w : wrong) out.push_back({{"score", w.score}, {"question", w.question}, {"answered_from", w.answered_from}});
    return out;
}

int fewshot(const FewShotArgs &args) {
    auto pairs = learning::read_pairs(args.pairs, args.limit);
    if (!pairs) return fail(pairs.error());
    auto learner = open_learner(args.learner, plugin_dir(args.plugins));
    if (!learner) return fail(learner.error());
    learning::FewShotOptions options;
    options.shots = args.shots;
    options.neighbours = args.neighbours;
    options.distractors = args.distractors;
    options.temperature = args.temperature;
    options.target_false_hit_rate = args.target;
    options.train_budget_ms = static_cast<uint64_t>(args.budget * 1000);
    options.learner_config = args.config;
    options.seed = args.seed;
    if (!args.checkpoint.empty()) {
        auto state = read_file(args.checkpoint);
        if (!state) return fail(state.error().with_context("--checkpoint"));
        options.checkpoint = std::move(*state);
    }
    options.keep_checkpoint = !args.save_checkpoint.empty();
    Progress bar{""};
    std::string shown;
    options.on_progress = [&](const std::string &step, uint64_t done, uint64_t total) {
        if (step != shown) bar = Progress(step), shown = step;
        bar.update(done, total);
    };
    auto report = learning::evaluate_fewshot(*pairs, *learner, options);
    bar.suspend();
    if (!report) return fail(report.error());
    if (options.keep_checkpoint)
        if (Status saved = write_file_atomic(args.save_checkpoint, report->checkpoint); !saved) return fail(saved.with_context("--save-checkpoint"));

    if (args.json) {
        nlohmann::json out = {{"learner", report->learner},         {"train_pairs", report->train_pairs},
                              {"train_seconds", report->train_seconds}, {"cached_clusters", report->cached_clusters},
                              {"uncached_clusters", report->uncached_clusters}, {"distractors", report->distractors},
                              {"neighbours", args.neighbours},     {"target_false_hit_rate", args.target},
                              {"arms", nlohmann::json::array()}};
        for (const auto &arm : report->arms)
            out["arms"].push_back({{"shots", arm.shots},
                                   {"clusters", arm.clusters},
                                   {"pooling", cache::pooling_name(arm.pooling)},
                                   {"threshold", arm.point.threshold},
                                   {"hit_rate", arm.point.hit_rate},
                                   {"false_hit_rate", arm.point.false_hit_rate},
                                   {"right", arm.point.right},
                                   {"wrong", arm.point.wrong},
                                   {"positives", arm.point.positives},
                                   {"questions", arm.point.questions},
                                   {"wrong_examples", wrong_json(arm.wrong)}});
        std::printf("%s\n", out.dump(2).c_str());
        return 0;
    }
    std::printf("%s, %s; %zu cached and %zu uncached held-out paraphrase clusters among %zu distractor entries; k = %zu\n",
                report->learner.c_str(),
                args.checkpoint.empty() ? fmt::format("trained {:.0f} s on {} pairs", report->train_seconds, report->train_pairs).c_str()
                                        : ("checkpoint " + args.checkpoint).c_str(),
                report->cached_clusters, report->uncached_clusters, report->distractors, args.neighbours);
    std::printf("hits among questions whose cluster is cached, at the threshold where wrong answers stay <= %.1f%% of all questions\n\n",
                100 * args.target);
    std::printf("%-9s %-9s %-10s %9s %9s %10s\n", "verified", "clusters", "pooling", "hit rate", "wrong", "threshold");
    for (const auto &arm : report->arms)
        std::printf("%-9zu %-9zu %-10s %8.1f%% %8.2f%% %10.4f\n", arm.shots, arm.clusters, cache::pooling_name(arm.pooling), 100 * arm.point.hit_rate,
                    100 * arm.point.false_hit_rate, arm.point.threshold);
    if (args.show_wrong > 0 && !report->arms.empty()) {
        const auto &last = report->arms.back();
        std::printf("\nwrong answers of the last arm (%zu verified, %s), highest score first:\n", last.shots, cache::pooling_name(last.pooling));
        for (size_t i = 0; i < last.wrong.size() && i < args.show_wrong; ++i)
            std::printf("  %.4f  asked: %s\n          from: %s\n", last.wrong[i].score, last.wrong[i].question.c_str(), last.wrong[i].answered_from.c_str());
    }
    return 0;
}

} // namespace

void register_eval_fewshot(CLI::App &eval, std::string &plugins) {
    auto args = std::make_shared<FewShotArgs>();
    CLI::App *cmd = eval.add_subcommand("fewshot", "What 1-n verified paraphrases of a cached question add, on clusters no training saw");
    cmd->add_option("pairs", args->pairs, "Pairs (JSONL); paraphrase clusters of 3+ questions are held out")->required();
    cmd->add_option("--shots", args->shots, "Numbers of verified paraphrases per cached entry, each against none")->delimiter(',')->capture_default_str();
    cmd->add_option("--neighbours", args->neighbours, "Cached questions re-scored per lookup (k)")->capture_default_str();
    cmd->add_option("--temperature", args->temperature, "Of the attention over the neighbours' logits")->capture_default_str();
    cmd->add_option("--distractors", args->distractors, "Training questions cached beside the clusters' entries")->capture_default_str();
    cmd->add_option("--budget-seconds", args->budget, "Seconds of training on the other questions")->capture_default_str();
    cmd->add_option("--checkpoint", args->checkpoint, "Use this trained state instead of training (it must not have seen the held-out half)");
    cmd->add_option("--save-checkpoint", args->save_checkpoint, "Keep the state trained here (its --checkpoint runs hold out the same half)");
    cmd->add_option("--learner", args->learner, "Learner plugin: a name in the plugin directory, or a .so")->capture_default_str();
    cmd->add_option("--config", args->config, "The learner's configuration (JSON object)")->capture_default_str();
    cmd->add_option("--target-error", args->target, "Share of wrong answers among all questions")->capture_default_str();
    cmd->add_option("--limit", args->limit, "Use only the first N pairs (0: all)")->capture_default_str();
    cmd->add_option("--seed", args->seed, "Which half is held out; a checkpoint is only valid for the seed it was trained with")->capture_default_str();
    cmd->add_option("--show-wrong", args->show_wrong, "Print up to N wrong answers of the last arm (at most 10)")->capture_default_str();
    cmd->add_flag("--json", args->json, "JSON");
    on_callback(cmd, [args, &plugins] {
        args->plugins = plugins;
        return fewshot(*args);
    });
}

} // namespace aicache::cli
