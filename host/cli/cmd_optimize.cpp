// `aicache optimize run | list | show`: an optimizer plugin searches for better policies. Each
// candidate it asks for becomes a patch submitted through the pipeline (validated, compiled in the
// sandbox, replayed against the incumbent in the trial child); the measured gain is told back;
// every trial is recorded, and a search resumes by name after a restart.
#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/repository.hpp"
#include "cli/search_report.hpp"
#include "core/files.hpp"
#include "learning/canon_eval.hpp"
#include "learning/encoder_search.hpp"
#include "learning/parameter_replay.hpp"
#include "learning/search.hpp"
#include "loader/qualify.hpp"
#include "patches/candidate.hpp"
#include "patches/generator.hpp"
#include "replay/replay.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdio>

namespace aicache::cli {
namespace {

struct OptimizeArgs {
    std::string data, plugins;
    std::string optimizer, search, space;
    uint64_t trials = 20;
    std::string target = "s3fifo", against, trace;
    std::vector<std::string> sizes = {"1%", "10%"};
    std::optional<double> auto_approve_margin;
    uint64_t cpu_seconds = 30, trial_cpu_seconds = 60;
    std::string memory = "3GiB";
    std::string measure = "patch";
    std::string baseline = "incumbent";
    std::string pairs;
    uint64_t pairs_limit = 0, split_seed = 1;
    std::string learner = "encoder", learner_config = "{}";
    double latency_target_us = 20, latency_weight = -0.07, target_error = 0.1;
    double tune_share = 0.5;
    replay::Objective objective = replay::Objective::hits;
    double trial_warm_share = 0;
    bool json = false;
};

nlohmann::json trial_json(const store::TrialRecord &t) {
    nlohmann::json out = {{"number", t.number}, {"candidate", nlohmann::json::parse(t.candidate, nullptr, false)}, {"outcome", t.outcome},
                          {"score", t.score}, {"split", t.split}, {"seconds", t.seconds}, {"finished_at", t.finished_at},
                          {"detail", nlohmann::json::parse(t.detail, nullptr, false)}};
    out["patch_id"] = t.patch_id ? nlohmann::json(*t.patch_id) : nlohmann::json();
    return out;
}

// Each recorded trial as a line (not with --json), and the progress bar.
std::function<void(const store::TrialRecord &)> trial_printer(const OptimizeArgs &args, Progress &progress) {
    return [&args, &progress](const store::TrialRecord &t) {
        if (!args.json) {
            progress.suspend();
            std::fputs(trial_line(t).c_str(), stdout);
            std::fflush(stdout);
        }
        progress.update(static_cast<uint64_t>(t.number), args.trials);
    };
}

// What every --json answer of `optimize run` starts with.
nlohmann::json search_json(const std::string &name, const loader::PluginFacts &facts, const learning::SearchSummary &summary) {
    nlohmann::json out = {{"search", name}, {"optimizer", facts.name + " " + facts.version}, {"resumed_from", summary.resumed_from}};
    out["trials"] = nlohmann::json::array();
    for (const auto &t : summary.trials) out["trials"].push_back(trial_json(t));
    out["best"] = summary.best ? trial_json(*summary.best) : nlohmann::json();
    return out;
}

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
    if (!args.json)
        std::printf("search %s: %s %s, %llu trials, each a parameter set of %s replayed on %s at %s (held out: %s)\n", options.name.c_str(),
                    facts.name.c_str(), facts.version.c_str(), static_cast<unsigned long long>(args.trials), args.target.c_str(),
                    setup->tuning.name.c_str(), fmt::format("{}", fmt::join(args.sizes, ",")).c_str(), setup->held_out.name.c_str());
    options.on_trial = trial_printer(args, progress);
    auto summary = learning::run_search(db, library, options, *evaluator);
    progress.suspend();
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

// `--measure pairs`: the candidates are prompt canonicalizations ({"params": {"steps": ...}}),
// scored on the first half of the pairs' questions and judged on the other half
// (learning/canon_eval.hpp).
int run_pairs_search(const OptimizeArgs &args, const std::shared_ptr<loader::PluginLibrary> &library, store::Database &db,
                     learning::SearchOptions options) {
    if (args.pairs.empty()) return fail(Status(Errc::invalid_argument, "--measure pairs needs --pairs FILE (labelled question pairs, JSONL)"));
    auto pairs = learning::read_pairs(args.pairs);
    if (!pairs) return fail(pairs.error());
    learning::PairSplit split = learning::split_by_question(*pairs, 0, 1 - args.tune_share, 1);
    if (split.train.empty() || split.test.empty()) return fail(Status(Errc::invalid_argument, args.pairs + ": too few pairs to hold half out"));
    options.evaluation = {{"kind", "pairs"}, {"pairs", args.pairs}, {"tune_share", args.tune_share}};
    const std::string tuning_name = fmt::format("{} (tuning questions, {} pairs)", args.pairs, split.train.size());
    const loader::PluginFacts &facts = library->facts();
    Progress progress("search " + options.name);
    if (!args.json)
        std::printf("search %s: %s %s, %llu trials, each a canonicalization scored on %s (held out: %zu pairs)\n", options.name.c_str(),
                    facts.name.c_str(), facts.version.c_str(), static_cast<unsigned long long>(args.trials), tuning_name.c_str(), split.test.size());
    options.on_trial = trial_printer(args, progress);
    auto summary = learning::run_search(db, library, options, learning::canon_evaluator(split.train, tuning_name));
    progress.suspend();
    if (!summary) return fail(summary.error());
    std::optional<cache::PromptCanon> best;
    if (summary->best && summary->best->score > learning::kFailedCanon) {
        auto parsed = cache::PromptCanon::parse(
            nlohmann::json::parse(summary->best->candidate, nullptr, false).value("params", nlohmann::json::object()).value("steps", ""));
        if (parsed) best = *parsed;
    }
    const learning::ExactMatches none = learning::exact_matches(split.test, {});
    const learning::ExactMatches chosen = learning::exact_matches(split.test, best.value_or(cache::PromptCanon{}));
    if (args.json) {
        nlohmann::json out = search_json(options.name, facts, *summary);
        auto rates = [](const learning::ExactMatches &m) {
            return nlohmann::json{{"hits", m.hits}, {"false_hits", m.false_hits}, {"positives", m.positives}, {"negatives", m.negatives},
                                  {"hit_rate", m.hit_rate()}, {"false_hit_rate", m.false_hit_rate()}};
        };
        out["held_out"] = {{"steps", best ? best->name() : "none"}, {"none", rates(none)}, {"chosen", rates(chosen)}};
        std::printf("%s\n", out.dump(2).c_str());
        return 0;
    }
    if (summary->resumed_from > 0) std::printf("resumed after %llu recorded trials\n", static_cast<unsigned long long>(summary->resumed_from));
    std::printf("best: %s (%+.3f hit-rate points on the tuning questions, no false hit added)\n", best ? best->name().c_str() : "none",
                summary->best ? std::max(0.0, summary->best->score) : 0.0);
    std::printf("held out (%zu pairs): exact hits %llu -> %llu of %llu paraphrases (%.2f%% -> %.2f%%), false hits %llu -> %llu of %llu\n",
                split.test.size(), (unsigned long long)none.hits, (unsigned long long)chosen.hits, (unsigned long long)none.positives,
                100 * none.hit_rate(), 100 * chosen.hit_rate(), (unsigned long long)none.false_hits, (unsigned long long)chosen.false_hits,
                (unsigned long long)none.negatives);
    std::printf("serve with it: aicache serve --canon %s\n", best ? best->name().c_str() : "none");
    return 0;
}

// `--measure encoder`: the candidates are learner configurations (nas: architectures, then
// population-based training of the best), each trained on the pairs' training questions and
// scored on the validation questions by accuracy and latency (learning/encoder_search.hpp); the
// winner is judged on the test questions against the learner's defaults trained as long.
int run_encoder_search(const OptimizeArgs &args, const std::shared_ptr<loader::PluginLibrary> &library, store::Database &db,
                       learning::SearchOptions options) {
    if (args.pairs.empty()) return fail(Status(Errc::invalid_argument, "--measure encoder needs --pairs FILE (labelled question pairs, JSONL)"));
    auto pairs = learning::read_pairs(args.pairs, args.pairs_limit);
    if (!pairs) return fail(pairs.error());
    const learning::PairSplit split = learning::split_by_question(*pairs, 0.2, 0.2, args.split_seed);
    if (split.train.empty() || split.validation.empty() || split.test.empty())
        return fail(Status(Errc::invalid_argument, args.pairs + ": too few pairs to hold out validation and test questions"));
    auto learner = open_learner(args.learner, plugin_dir(args.plugins));
    if (!learner) return fail(learner.error());
    if (nlohmann::json::parse(args.learner_config, nullptr, false).is_discarded())
        return fail(Status(Errc::invalid_argument, "--learner-config is not JSON: " + args.learner_config));
    options.evaluation = {{"kind", "encoder"}, {"learner", args.learner}, {"learner_config", nlohmann::json::parse(args.learner_config)},
                          {"pairs", args.pairs}, {"limit", args.pairs_limit}, {"split_seed", args.split_seed},
                          {"latency_target_us", args.latency_target_us}, {"latency_weight", args.latency_weight}};
    learning::EncoderSearchOptions encoder;
    encoder.latency_target_us = args.latency_target_us;
    encoder.latency_weight = args.latency_weight;
    encoder.base_config = args.learner_config;
    encoder.checkpoints = data_dir(args.data) / "searches" / options.name;
    const loader::PluginFacts &facts = library->facts();
    Progress progress("search " + options.name);
    encoder.on_progress = [&](const std::string &, uint64_t done, uint64_t total) { progress.update(done, total); };
    if (!args.json)
        std::printf("search %s: %s %s, %llu trials, each a %s configuration trained on %zu pairs and scored on %zu validation pairs "
                    "(AUC, discounted above %.0f µs a question)\n",
                    options.name.c_str(), facts.name.c_str(), facts.version.c_str(), static_cast<unsigned long long>(args.trials),
                    args.learner.c_str(), split.train.size(), split.validation.size(), args.latency_target_us);
    options.on_trial = trial_printer(args, progress);
    auto summary = learning::run_search(db, library, options, learning::encoder_evaluator(*learner, split, encoder));
    progress.suspend();
    if (!summary) return fail(summary.error());
    if (!summary->best || summary->best->score <= learning::kFailedEncoder) return fail(Status(Errc::internal, "no candidate could be trained"));

    // The winner against the learner's defaults trained as many steps, on the test questions.
    const nlohmann::json best = nlohmann::json::parse(summary->best->candidate);
    const uint64_t lineage_steps = best.value("steps", uint64_t(0)) * (best.value("generation", uint64_t(0)) + 1);
    struct Judged {
        learning::MethodResult held_out;
        double latency_us = 0;
    };
    auto judge = [&](const nlohmann::json &candidate) -> Expected<Judged> {
        auto trained = learning::trained_encoder(*learner, split, candidate, encoder);
        if (!trained) return trained.error();
        auto held_out = learning::measure_held_out(*trained, split.validation, split.test, args.target_error, 1.645);
        if (!held_out) return held_out.error();
        auto latency = learning::embed_latency_us(*trained, learning::latency_questions(split.validation));
        if (!latency) return latency.error();
        return Judged{std::move(*held_out), *latency};
    };
    auto winner = judge(best);
    if (!winner) return fail(winner.error().with_context("judging the best trial"));
    // The defaults share what the space fixes for every candidate (the table's size, say).
    const nlohmann::json space = nlohmann::json::parse(summary->search.space, nullptr, false);
    const nlohmann::json fixed = space.is_object() ? space.value("fixed", nlohmann::json::object()) : nlohmann::json::object();
    auto defaults = judge(nlohmann::json{{"params", fixed}, {"steps", lineage_steps}});
    if (!defaults) return fail(defaults.error().with_context("judging the defaults"));
    const std::vector<store::TrialRecord> front = learning::accuracy_latency_front(summary->trials);
    auto judged_json = [](const Judged &j) {
        return nlohmann::json{{"auc", learning::area_under(j.held_out.curve)}, {"hit_rate", j.held_out.chosen.hit_rate},
                              {"false_hit_rate", j.held_out.chosen.false_hit_rate}, {"latency_us", j.latency_us}};
    };
    if (args.json) {
        nlohmann::json out = search_json(options.name, facts, *summary);
        out["front"] = nlohmann::json::array();
        for (const auto &t : front) out["front"].push_back(trial_json(t));
        out["held_out"] = {{"steps", lineage_steps}, {"test_pairs", split.test.size()}, {"best", judged_json(*winner)},
                           {"defaults", judged_json(*defaults)}};
        std::printf("%s\n", out.dump(2).c_str());
        return 0;
    }
    if (summary->resumed_from > 0) std::printf("resumed after %llu recorded trials\n", static_cast<unsigned long long>(summary->resumed_from));
    std::printf("best: trial #%lld, reward %.2f (%s) on %s\n  %s\n", static_cast<long long>(summary->best->number), summary->best->score,
                summary->best->outcome.c_str(), summary->best->split.c_str(), best.value("params", nlohmann::json::object()).dump().c_str());
    std::printf("accuracy/latency front (no trial has both a higher AUC and a lower latency):\n");
    for (const auto &t : front)
        std::printf("  #%-4lld %s  %s\n", static_cast<long long>(t.number), t.outcome.c_str(),
                    nlohmann::json::parse(t.candidate).value("params", nlohmann::json::object()).dump().c_str());
    std::printf("held out (%zu test pairs), both trained %llu steps; hits at <= %.0f%% false hits (threshold from validation):\n",
                split.test.size(), static_cast<unsigned long long>(lineage_steps), 100 * args.target_error);
    for (const auto &[name, j] : {std::pair<const char *, const Judged *>{"defaults", &*defaults}, {"nas best", &*winner}})
        std::printf("  %-9s AUC %.2f, hits %.2f%% (false hits %.2f%%), %.1f µs a question\n", name, 100 * learning::area_under(j->held_out.curve),
                    100 * j->held_out.chosen.hit_rate, 100 * j->held_out.chosen.false_hit_rate, j->latency_us);
    nlohmann::json serving = nlohmann::json::parse(learning::encoder_config(args.learner_config, best));
    serving.erase("train_steps"); // learner train trains by its own budget
    std::printf("train it for serving: aicache learner train %s --pairs %s --config '%s'\n", args.learner.c_str(), args.pairs.c_str(),
                serving.dump().c_str());
    return 0;
}

// `--baseline best-classical`: every policy plugin replayed on every --trace at every --size,
// printed, before the first candidate is measured against it.
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
    if (args.measure != "patch" && args.measure != "replay" && args.measure != "pairs" && args.measure != "encoder")
        return fail(Status(Errc::invalid_argument, "--measure must be patch, replay, pairs or encoder, not " + args.measure));
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
    options.evaluation = {{"kind", "patch"}, {"target", args.target}, {"against", args.against.empty() ? args.target : args.against},
                          {"trace", args.trace.empty() ? "generated" : args.trace}, {"sizes", args.sizes}};
    if (args.objective != replay::Objective::hits) options.evaluation["objective"] = replay::to_string(args.objective);
    if (args.baseline != "incumbent" && args.baseline != "best-classical")
        return fail(Status(Errc::invalid_argument, "--baseline must be incumbent or best-classical, not " + args.baseline));
    std::optional<patches::ClassicalBaseline> baseline;
    if (args.baseline == "best-classical") {
        auto measured = measure_baseline(args);
        if (!measured) return fail(measured.error());
        baseline = std::move(*measured);
        options.evaluation["baseline"] = "best-classical";
        options.evaluation["traces"] = baseline->traces;
    } else if (args.trace.find(',') != std::string::npos) {
        return fail(Status(Errc::invalid_argument, "several --trace files need --baseline best-classical"));
    }

    patches::SubmitOptions submit;
    submit.trial.objective = args.objective;
    submit.trial.warm_share = args.trial_warm_share;
    if (args.trial_warm_share > 0) options.evaluation["warm_share"] = args.trial_warm_share;
    submit.target = args.target;
    submit.against = args.against;
    submit.who = "optimizer:" + facts.name + " " + facts.version + " (search " + options.name + ", run by " + current_user() + ")";
    submit.note = "search " + options.name;
    submit.trial.trace = args.trace;
    submit.trial.sizes = args.sizes;
    submit.worker.limits.cpu_seconds = args.cpu_seconds;
    submit.worker.limits.address_space_bytes = *memory;
    submit.trial.limits.cpu_seconds = args.trial_cpu_seconds;
    submit.trial.limits.address_space_bytes = *memory;
    const std::filesystem::path templates = patches::templates_dir();

    Progress progress("search " + options.name);
    if (!args.json && baseline)
        std::printf("search %s: %s %s, %llu trials, each a patch scored against the best classical policy above\n", options.name.c_str(),
                    facts.name.c_str(), facts.version.c_str(), static_cast<unsigned long long>(args.trials));
    else if (!args.json)
        std::printf("search %s: %s %s, %llu trials, each a patch for %s trialled against %s on %s\n", options.name.c_str(), facts.name.c_str(),
                    facts.version.c_str(), static_cast<unsigned long long>(args.trials), args.target.c_str(),
                    options.evaluation["against"].get<std::string>().c_str(), options.evaluation["trace"].get<std::string>().c_str());
    options.on_trial = trial_printer(args, progress);
    learning::Evaluator evaluate = patch_evaluator(*repo->pipeline, submit, templates);
    if (baseline) evaluate = baseline_evaluator(*repo->pipeline, submit, templates, *baseline);
    auto summary = learning::run_search(*repo->db, *library, options, evaluate);
    progress.suspend();
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
            std::printf("best: trial #%lld, %+.2f points of hit ratio over the best classical policy (mean and worst gain averaged) on %s\n  %s\n",
                        static_cast<long long>(summary->best->number), summary->best->score, summary->best->split.c_str(),
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
    run_cmd->add_option("--auto-approve-margin", args->auto_approve_margin,
                        "Approve the search's best patch by rule when it beats the incumbent by this many points at every size");
    run_cmd->add_option("--measure", args->measure,
                        "patch: each candidate becomes a patch, trialled against the incumbent; replay: each candidate is a parameter "
                        "set of --target, scored by replaying the first --tune-share of --trace and judged on the rest; pairs: each "
                        "candidate is a prompt canonicalization, scored on --tune-share of --pairs' questions and judged on the rest; "
                        "encoder: each candidate is a --learner configuration (nas), trained on 60% of --pairs' questions, scored on "
                        "20% by AUC and latency, and the best judged on the last 20%")
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
    run_cmd->add_option("--pairs", args->pairs, "With --measure pairs or encoder: labelled question pairs (JSONL)");
    run_cmd->add_option("--pairs-limit", args->pairs_limit, "With --measure encoder: use the first N pairs (0: all)")->capture_default_str();
    run_cmd->add_option("--split-seed", args->split_seed, "With --measure encoder: seed of the question split")->capture_default_str();
    run_cmd->add_option("--learner", args->learner, "With --measure encoder: the learner plugin trained")->capture_default_str();
    run_cmd->add_option("--learner-config", args->learner_config, "With --measure encoder: configuration under every candidate's (JSON)")
        ->capture_default_str();
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
