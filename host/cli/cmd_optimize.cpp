// `aicache optimize run | list | show`: an optimizer plugin searches for better policies. Each
// candidate it asks for becomes a patch submitted through the pipeline (validated, compiled in the
// sandbox, replayed against the incumbent in the trial child); the measured gain is told back;
// every trial is recorded, and a search resumes by name after a restart.
#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/optimize_search.hpp"
#include "cli/repository.hpp"
#include "cli/search_report.hpp"
#include "core/files.hpp"
#include "learning/parameter_replay.hpp"
#include "learning/search.hpp"
#include "loader/qualify.hpp"
#include "patches/candidate.hpp"
#include "patches/generator.hpp"
#include "patches/winner_choices.hpp"
#include "replay/replay.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdio>

namespace aicache::cli {
namespace {

Expected<std::string> read_space(const std::string &flag) {
    if (flag.empty() || flag[0] != '@') return flag;
    return read_file(flag.substr(1));
}

// `--measure replay`: the candidates are parameter sets of the target policy, scored by replaying
// the first part of the trace and judged on the rest (learning/parameter_replay.hpp).
int run_replay_search(const OptimizeArgs &args, const std::shared_ptr<loader::PluginLibrary> &library, store::Database &db,
                      learning::SearchOptions options) {
    auto policy = open_qualified_plugin("policy", args.target, plugin_dir(args.plugins), std::chrono::seconds(10));
    if (!policy) return fail(policy.error().with_context("--target"));
    auto trace = args.trace.empty() ? Expected<replay::Trace>(replay::generate_workload({})) : replay::read_trace(args.trace);
    if (!trace) return fail(trace.error());
    auto setup = learning::prepare_parameter_replay(std::move(*trace), args.trace.empty() ? "generated" : args.trace, args.tune_share, args.sizes, *policy);
    if (!setup) return fail(setup.error());
    setup->objective = args.objective;
    options.evaluation = {{"kind", "replay"}, {"target", args.target}, {"trace", setup->trace_name}, {"sizes", args.sizes}, {"tune_share", args.tune_share}};
    if (args.objective != replay::Objective::hits) options.evaluation["objective"] = replay::to_string(args.objective); // searches recorded before objectives resume
    auto evaluator = learning::parameter_evaluator(*setup);
    if (!evaluator) return fail(evaluator.error());

    const loader::PluginFacts &facts = library->facts();
    Progress progress("search " + options.name);
    auto summary = run_reported_search(args, db, library, options, *evaluator, progress,
                                       fmt::format("a parameter set of {} replayed on {} at {} (held out: {})", args.target, setup->tuning.name,
                                                   fmt::join(args.sizes, ","), setup->held_out.name));
    if (!summary) return fail(summary.error());
    std::optional<learning::HeldOutComparison> judged;
    std::string best_params = "{}";
    // Only a measured best is judged: one the policy refused has nothing to show on held-out data.
    if (summary->best && summary->best->score > learning::kFailedParameters) {
        best_params = nlohmann::json::parse(summary->best->candidate, nullptr, false).value("params", nlohmann::json::object()).dump();
        auto held_out = learning::judge_on_held_out(*setup, best_params);
        if (!held_out) return fail(held_out.error().with_context("judging the best on the held-out part"));
        judged = std::move(*held_out);
    }
    if (args.json) {
        nlohmann::json out = search_json(options.name, facts, *summary);
        if (judged)
            out["held_out"] = {{"split", setup->held_out.name}, {"sizes", args.sizes}, {"defaults_percent", judged->defaults.percent},
                               {"tuned_percent", judged->tuned.percent}, {"gain_points", judged->tuned.mean() - judged->defaults.mean()}};
        std::printf("%s\n", out.dump(2).c_str());
        return 0;
    }
    if (summary->resumed_from > 0) std::printf("resumed after %llu recorded trials\n", static_cast<unsigned long long>(summary->resumed_from));
    if (judged) {
        std::printf("best: trial #%lld, %+.2f points of %s over %s's defaults on %s\n  %s\n", static_cast<long long>(summary->best->number),
                    summary->best->score, replay::figure_of(args.objective), args.target.c_str(), setup->tuning.name.c_str(), describe_candidate(summary->best->candidate).c_str());
        std::printf("held out, %s: defaults %.2f%%, tuned %.2f%% (%+.2f points; per size", setup->held_out.name.c_str(), judged->defaults.mean(),
                    judged->tuned.mean(), judged->tuned.mean() - judged->defaults.mean());
        for (size_t i = 0; i < args.sizes.size(); ++i)
            std::printf(" %s %.2f -> %.2f", args.sizes[i].c_str(), judged->defaults.percent[i], judged->tuned.percent[i]);
        std::printf(")\n");
    } else if (summary->best) {
        std::printf("no candidate could be replayed: %s\n", summary->best->outcome.c_str());
    }
    return 0;
}

Expected<patches::ClassicalBaseline> measure_baseline(const OptimizeArgs &args) {
    if (args.objective != replay::Objective::hits) return Status(Errc::invalid_argument, "--baseline best-classical scores hit ratio: use --objective hits");
    std::vector<std::string> traces;
    for (size_t from = 0; from <= args.trace.size();) {
        size_t comma = std::min(args.trace.find(',', from), args.trace.size());
        if (comma > from) traces.push_back(args.trace.substr(from, comma - from));
        from = comma + 1;
    }
    if (traces.empty()) return Status(Errc::invalid_argument, "--baseline best-classical needs --trace FILE[,FILE...]");
    auto classical = classical_policies(plugin_dir(args.plugins));
    if (!classical) return classical.error();
    Progress progress("best classical policies");
    uint64_t step = 0;
    const uint64_t steps = traces.size() * args.sizes.size() * classical->size();
    auto baseline = patches::measure_classical_baseline(traces, args.sizes, *classical, [&](const std::string &) { progress.update(++step, steps); });
    progress.suspend();
    if (!baseline) return baseline.error();
    if (!args.json) {
        std::printf("best classical policy (of %zu) by trace and size:\n", classical->size());
        for (const auto &cell : baseline->cells)
            std::printf("  %-28s %6s  %-10s %6.2f%%\n", std::filesystem::path(cell.trace).filename().string().c_str(), cell.size.c_str(),
                        cell.policy.c_str(), 100 * cell.hit_ratio);
    }
    return baseline;
}

int run(const OptimizeArgs &args) {
    if (args.measure != "patch" && args.measure != "replay" && args.measure != "pairs" && args.measure != "encoder" && args.measure != "threshold" &&
        args.measure != "drift")
        return fail(Status(Errc::invalid_argument, "--measure must be patch, replay, pairs, encoder, threshold or drift, not " + args.measure));
    // Like every library the host maps, the optimizer is first checked in a child process.
    auto library = open_qualified_plugin("optimizer", args.optimizer, plugin_dir(args.plugins), std::chrono::seconds(10));
    if (!library) return fail(library.error());

    auto repo = open_repository(args.data);
    if (!repo) return fail(repo.error());
    auto memory = replay::parse_capacity(args.memory, 0);
    if (!memory) return fail(memory.error().with_context("--memory"));

    const loader::PluginFacts &facts = (*library)->facts();
    learning::SearchOptions options;
    options.name = args.search.empty() ? facts.name : args.search;
    options.trials = args.trials;
    if (!args.space.empty()) {
        auto space = read_space(args.space);
        if (!space) return fail(space.error().with_context("--space"));
        if (nlohmann::json::parse(*space, nullptr, false).is_discarded())
            return fail(Status(Errc::invalid_argument, "--space: not JSON: " + space->substr(0, 200)));
        options.space = *space;
    }
    if (args.measure == "replay") return run_replay_search(args, *library, *repo->db, std::move(options));
    if (args.measure == "pairs") return run_pairs_search(args, *library, *repo->db, std::move(options));
    if (args.measure == "encoder") return run_encoder_search(args, *library, *repo->db, std::move(options));
    if (args.measure == "threshold") return run_threshold_search(args, *library, *repo->db, std::move(options));
    if (args.measure == "drift") return run_drift_search(args, *library, *repo->db, std::move(options));
    options.evaluation = {{"kind", "patch"}, {"target", args.target}, {"against", args.against.empty() ? args.target : args.against},
                          {"trace", args.trace.empty() ? "generated" : args.trace}, {"sizes", args.sizes}};
    if (args.objective != replay::Objective::hits) options.evaluation["objective"] = replay::to_string(args.objective);
    if (args.baseline != "incumbent" && args.baseline != "best-classical")
        return fail(Status(Errc::invalid_argument, "--baseline must be incumbent or best-classical, not " + args.baseline));
    if (args.score != "balanced" && args.score != "worst-first")
        return fail(Status(Errc::invalid_argument, "--score must be balanced or worst-first, not " + args.score));
    if (args.score != "balanced" && args.baseline != "best-classical")
        return fail(Status(Errc::invalid_argument, "--score " + args.score + " scores against --baseline best-classical"));
    std::optional<patches::ClassicalBaseline> baseline;
    if (args.baseline == "best-classical") {
        auto measured = measure_baseline(args);
        if (!measured) return fail(measured.error());
        baseline = std::move(*measured);
        options.evaluation["baseline"] = "best-classical";
        options.evaluation["traces"] = baseline->traces;
        if (args.score == "worst-first") {
            baseline->score = patches::BaselineScore::worst_first;
            options.evaluation["score"] = "worst-first"; // absent: balanced, as searches recorded before it existed
        }
    } else if (args.trace.find(',') != std::string::npos) {
        return fail(Status(Errc::invalid_argument, "several --trace files need --baseline best-classical"));
    }
    if (options.space) { // "winners" in the space: the policies best somewhere in the table above
        auto resolved = patches::resolve_winners(nlohmann::json::parse(*options.space), patches::templates_dir(), baseline ? &*baseline : nullptr);
        if (!resolved) return fail(resolved.error().with_context("--space"));
        options.space = resolved->dump();
    }

    patches::SubmitOptions submit;
    submit.trial.objective = args.objective;
    submit.trial.warm_share = args.trial_warm_share;
    if (args.trial_warm_share > 0) options.evaluation["warm_share"] = args.trial_warm_share;
    submit.target = args.target;
    submit.against = args.against;
    submit.who = "optimizer:" + facts.name_and_version() + " (search " + options.name + ", run by " + current_user() + ")";
    submit.note = "search " + options.name;
    submit.trial.trace = args.trace;
    submit.trial.sizes = args.sizes;
    submit.worker.limits.cpu_seconds = args.cpu_seconds;
    submit.worker.limits.address_space_bytes = *memory;
    submit.trial.allow_cpu_seconds(args.trial_cpu_seconds);
    submit.trial.limits.address_space_bytes = *memory;
    const std::filesystem::path templates = patches::templates_dir();

    Progress progress("search " + options.name);
    learning::Evaluator evaluate = patch_evaluator(*repo->pipeline, submit, templates);
    if (baseline) evaluate = baseline_evaluator(*repo->pipeline, submit, templates, *baseline);
    const std::string each = baseline ? "a patch scored against the best classical policy above"
                                      : fmt::format("a patch for {} trialled against {} on {}", args.target,
                                                    options.evaluation["against"].get<std::string>(), options.evaluation["trace"].get<std::string>());
    options.tie_break = mean_gain;
    auto summary = run_reported_search(args, *repo->db, *library, options, evaluate, progress, each);
    if (!summary) return fail(summary.error());

    // Only the search's winner is put to the approval rule, not every candidate that beat the margin.
    std::optional<store::PatchRecord> approved;
    if (summary->best && summary->best->patch_id && args.auto_approve_margin) {
        auto decided = repo->pipeline->approve_by_rule(*summary->best->patch_id, *args.auto_approve_margin);
        if (!decided) return fail(decided.error());
        approved = *decided;
    }

    if (args.json) {
        nlohmann::json out = search_json(options.name, facts, *summary);
        if (approved) out["best_patch_state"] = store::to_string(approved->state);
        std::printf("%s\n", out.dump(2).c_str());
        return 0;
    }
    if (summary->resumed_from > 0)
        std::printf("resumed after %llu recorded trials\n", static_cast<unsigned long long>(summary->resumed_from));
    if (summary->trials.size() == summary->resumed_from)
        std::printf("search %s already has %zu trials: raise --trials to search further\n", options.name.c_str(), summary->trials.size());
    if (summary->best) {
        if (baseline)
            std::printf("best: trial #%lld, %+.2f points of hit ratio over the best classical policy (%s) on %s\n  %s\n",
                        static_cast<long long>(summary->best->number), summary->best->score,
                        baseline->score == patches::BaselineScore::worst_first ? "the worst gain, or the mean gain once none is behind"
                                                                               : "mean and worst gain averaged",
                        summary->best->split.c_str(),
                        describe_candidate(summary->best->candidate).c_str());
        else
            std::printf("best: trial #%lld, %+.2f points of %s over %s (mean of %zu sizes) on %s\n  %s\n",
                        static_cast<long long>(summary->best->number), summary->best->score, replay::figure_of(args.objective),
                        options.evaluation["against"].get<std::string>().c_str(), args.sizes.size(), summary->best->split.c_str(),
                        describe_candidate(summary->best->candidate).c_str());
        if (summary->best->patch_id)
            std::printf("  patch #%lld is %s%s\n", static_cast<long long>(*summary->best->patch_id),
                        approved ? store::to_string(approved->state) : "evaluated",
                        approved && approved->state == store::PatchState::approved ? " (by rule)" : ": `aicache patch show` / `approve` to decide");
    }
    return 0;
}

int list(const OptimizeArgs &args) {
    auto repo = open_repository(args.data);
    if (!repo) return fail(repo.error());
    store::SearchRecords records(*repo->db);
    auto searches = records.list();
    if (!searches) return fail(searches.error());
    nlohmann::json out = nlohmann::json::array();
    if (!args.json) std::printf("%-16s %-18s %7s %10s  %s\n", "search", "optimizer", "trials", "best", "updated");
    for (const auto &s : *searches) {
        auto trials = records.trials(s.id);
        if (!trials) return fail(trials.error());
        std::optional<double> best;
        for (const auto &t : *trials)
            if (!best || t.score > *best) best = t.score;
        if (args.json) {
            out.push_back({{"search", s.name}, {"optimizer", s.optimizer + " " + s.optimizer_version}, {"trials", trials->size()},
                           {"best_score", best ? nlohmann::json(*best) : nlohmann::json()}, {"updated_at", s.updated_at}});
            continue;
        }
        std::printf("%-16s %-18s %7zu %10s  %s\n", s.name.c_str(), (s.optimizer + " " + s.optimizer_version).c_str(), trials->size(),
                    best ? fmt::format("{:+.2f}", *best).c_str() : "-", s.updated_at.c_str());
    }
    if (args.json) std::printf("%s\n", out.dump(2).c_str());
    return 0;
}

int show(const OptimizeArgs &args) {
    auto repo = open_repository(args.data);
    if (!repo) return fail(repo.error());
    store::SearchRecords records(*repo->db);
    auto found = records.find(args.search);
    if (!found) return fail(found.error());
    if (!found->has_value()) return fail(Status(Errc::not_found, "no search named \"" + args.search + "\" (see `aicache optimize list`)"));
    const store::SearchRecord &s = **found;
    auto trials = records.trials(s.id);
    if (!trials) return fail(trials.error());
    if (args.json) {
        nlohmann::json out = {{"search", s.name}, {"optimizer", s.optimizer}, {"optimizer_version", s.optimizer_version},
                              {"optimizer_sha256", s.optimizer_sha256}, {"space", nlohmann::json::parse(s.space, nullptr, false)},
                              {"evaluation", nlohmann::json::parse(s.evaluation, nullptr, false)}, {"created_at", s.created_at},
                              {"updated_at", s.updated_at}, {"trials", nlohmann::json::array()}};
        for (const auto &t : *trials) out["trials"].push_back(trial_json(t));
        std::printf("%s\n", out.dump(2).c_str());
        return 0;
    }
    std::printf("search %s: %s %s (sha256 %s), since %s\n  space %s\n  measured as %s\n", s.name.c_str(), s.optimizer.c_str(),
                s.optimizer_version.c_str(), s.optimizer_sha256.substr(0, 12).c_str(), s.created_at.c_str(), s.space.c_str(), s.evaluation.c_str());
    for (const auto &t : *trials) std::fputs(trial_line(t).c_str(), stdout);
    return 0;
}

} // namespace

void register_optimize(CLI::App &app) {
    CLI::App *optimize = app.add_subcommand("optimize", "Optimizer plugins search for better policies; every candidate goes through the patch pipeline");
    optimize->require_subcommand(1);
    optimize->fallthrough();
    auto args = std::make_shared<OptimizeArgs>();
    optimize->add_option("--data", args->data, "Data directory (default: $AICACHE_DATA or ~/.local/share/aicache)");
    optimize->add_option("--plugins", args->plugins, "Plugin directory (default: beside the executable)");

    CLI::App *run_cmd = optimize->add_subcommand("run", "Run (or resume) a search: ask, submit each candidate as a patch, tell the measured gain");
    run_cmd->add_option("optimizer", args->optimizer, "Optimizer plugin: a name in the plugin directory, or a .so")->required();
    run_cmd->add_option("--search", args->search, "The search's name; running it again resumes it (default: the optimizer's name)");
    run_cmd->add_option("--space", args->space, "Search space JSON, or @FILE (default: the optimizer's own; fixed once a search starts)");
    run_cmd->add_option("--trials", args->trials, "Trials the search may have in all, earlier runs included")->capture_default_str();
    run_cmd->add_option("--target", args->target, "The policy slot the patches would replace (also the trials' incumbent)")->capture_default_str();
    run_cmd->add_option("--against", args->against, "The trials' incumbent, when not the target (policy name or .so)");
    run_cmd->add_option("--trace", args->trace, "Trial traffic: a trace file or data directory (default: generated)");
    run_cmd->add_option("--size", args->sizes, "Trial cache sizes")->delimiter(',')->capture_default_str();
    run_cmd->add_option("--baseline", args->baseline,
                        "With --measure patch: incumbent (score = gain over the trial's incumbent) or best-classical (score = gain over "
                        "the best policy plugin at each --trace and --size, several traces allowed: FILE,FILE)")
        ->capture_default_str();
    run_cmd->add_option("--score", args->score,
                        "With --baseline best-classical: balanced (the mean of the mean gain and the worst gain) or worst-first (the "
                        "worst gain until every trace and size is at least the best classical policy, then the mean gain); of trials with "
                        "equal scores, the best is the one with the higher mean gain")
        ->capture_default_str();
    run_cmd->add_option("--auto-approve-margin", args->auto_approve_margin,
                        "Approve the search's best patch by rule when it beats the incumbent by this many points at every size");
    run_cmd->add_option("--measure", args->measure,
                        "patch: each candidate becomes a patch, trialled against the incumbent; replay: each candidate is a parameter "
                        "set of --target, scored by replaying the first --tune-share of --trace and judged on the rest; pairs: each "
                        "candidate is a prompt canonicalization, scored on --tune-share of --pairs' questions and judged on the rest; "
                        "encoder: each candidate is a --learner configuration (nas), trained on 60% of --pairs' questions, scored on "
                        "20% by AUC and latency, and the best judged on the last 20%; threshold: each candidate is a parameter set of "
                        "the threshold learner (tune), run over --tune-share of the shuffled --pairs against --delta, the best judged on the rest; "
                        "drift: each candidate is a parameter set of --learner (tune: ewc_lambda, learning_rate) continuing from a checkpoint "
                        "trained on --pairs (A) for --steps-b on --pairs-b (B), scored by validation AUC on both, the best judged on test")
        ->capture_default_str();
    add_objective_option(*run_cmd, "--objective", args->objective,
                         "What candidates are scored and approved by: hits (hit ratio) or tokens (hits weighted by their cost: tokens for "
                         "request logs, bytes for oracleGeneral traces, 1 per request for key lists)");
    run_cmd->add_option("--trial-warm-share", args->trial_warm_share,
                        "Patch trials: the incumbent serves this first share of the trace, then the cache swaps to the candidate "
                        "(as a host installs it) and both are measured on the rest")
        ->check(CLI::Range(0.0, 0.95))
        ->capture_default_str();
    run_cmd->add_option("--tune-share", args->tune_share, "With --measure replay or pairs: the share of the data candidates are scored on")
        ->capture_default_str();
    run_cmd->add_option("--pairs", args->pairs, "With --measure pairs, encoder or threshold: labelled question pairs (JSONL)");
    run_cmd->add_option("--pairs-limit", args->pairs_limit, "With --measure encoder or threshold: use the first N pairs (0: all)")->capture_default_str();
    run_cmd->add_option("--split-seed", args->split_seed, "With --measure encoder or threshold: seed of the split (threshold: of the shuffle)")
        ->capture_default_str();
    run_cmd->add_option("--learner", args->learner, "With --measure encoder: the learner plugin trained (threshold: default threshold)")
        ->capture_default_str();
    run_cmd->add_option("--learner-config", args->learner_config, "With --measure encoder or threshold: configuration under every candidate's (JSON)")
        ->capture_default_str();
    run_cmd->add_option("--pairs-b", args->pairs_b, "With --measure drift: the second domain's labelled pairs (JSONL)");
    run_cmd->add_option("--steps-a", args->steps_a, "With --measure drift: training steps on A (once)")->capture_default_str();
    run_cmd->add_option("--steps-b", args->steps_b, "With --measure drift: training steps on B (each candidate)")->capture_default_str();
    run_cmd->add_option("--delta", args->delta, "With --measure threshold: the false-hit rate the learner is held to")->capture_default_str();
    run_cmd->add_option("--latency-target-us", args->latency_target_us,
                        "With --measure encoder: µs to embed a question above which accuracy is discounted (MnasNet's soft constraint)")
        ->capture_default_str();
    run_cmd->add_option("--latency-weight", args->latency_weight, "With --measure encoder: reward = AUC x (latency / target)^weight above the target")
        ->capture_default_str();
    run_cmd->add_option("--target-error", args->target_error, "With --measure encoder: false-hit rate at which the winner's held-out hits are reported")
        ->capture_default_str();
    run_cmd->add_option("--cpu-seconds", args->cpu_seconds, "CPU seconds each compile may use")->capture_default_str();
    run_cmd->add_option("--trial-cpu-seconds", args->trial_cpu_seconds, "CPU seconds each trial may use")->capture_default_str();
    run_cmd->add_option("--memory", args->memory, "Address space each compile and trial may map")->capture_default_str();
    run_cmd->add_flag("--json", args->json, "Print the trials and the best as JSON");
    on_callback(run_cmd, [args] { return run(*args); });

    CLI::App *list_cmd = optimize->add_subcommand("list", "Every recorded search, with its trials and best score");
    list_cmd->add_flag("--json", args->json, "JSON");
    on_callback(list_cmd, [args] { return list(*args); });

    CLI::App *show_cmd = optimize->add_subcommand("show", "One search: its space, how it measures, and every trial");
    show_cmd->add_option("search", args->search, "Search name")->required();
    show_cmd->add_flag("--json", args->json, "JSON");
    on_callback(show_cmd, [args] { return show(*args); });
    register_optimize_judge(*optimize, args->data, args->plugins);
}

} // namespace aicache::cli
