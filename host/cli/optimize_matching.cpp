// The searches `aicache optimize run` measures on labelled question pairs: prompt
// canonicalizations (canon), encoder architectures (nas), the threshold learner's parameters, and
// how the encoder carries on to new questions (drift).
#include "cli/optimize_search.hpp"

#include "cli/search_report.hpp"
#include "learning/canon_eval.hpp"
#include "learning/continual_tuning.hpp"
#include "learning/encoder_search.hpp"
#include "learning/threshold_tuning.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdio>

namespace aicache::cli {
namespace {

// The best candidate's parameters (a JSON object), or nothing when no candidate could be
// measured, which it then says (as text, or as the search's JSON).
std::optional<std::string> best_measured_params(const OptimizeArgs &args, const loader::PluginFacts &facts, const std::string &name,
                                                const learning::SearchSummary &summary, double failed_score) {
    if (summary.best && summary.best->score > failed_score)
        return nlohmann::json::parse(summary.best->candidate, nullptr, false).value("params", nlohmann::json::object()).dump();
    if (args.json) std::printf("%s\n", search_json(name, facts, summary).dump(2).c_str());
    else std::printf("no configuration could be measured%s\n", summary.best ? (": " + summary.best->outcome).c_str() : "");
    return std::nullopt;
}

} // namespace

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
    auto summary = run_reported_search(args, db, library, options, learning::canon_evaluator(split.train, tuning_name), progress,
                                       fmt::format("a canonicalization scored on {} (held out: {} pairs)", tuning_name, split.test.size()));
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
    auto summary = run_reported_search(args, db, library, options, learning::encoder_evaluator(*learner, split, encoder), progress,
                                       fmt::format("a configuration of the {} learner trained on {} pairs and scored on {} validation pairs (AUC, discounted "
                                                   "above {:.0f} µs a question)",
                                                   args.learner, split.train.size(), split.validation.size(), args.latency_target_us));
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
// `--measure threshold`: the candidates are parameter sets of the threshold learner (tune), each
// run online over the first --tune-share of the shuffled pairs and scored by the paraphrases it
// served less a penalty for false hits above --delta; the best is judged on the rest beside the
// learner's defaults (learning/threshold_tuning.hpp).
int run_threshold_search(const OptimizeArgs &args, const std::shared_ptr<loader::PluginLibrary> &library, store::Database &db,
                         learning::SearchOptions options) {
    if (args.pairs.empty()) return fail(Status(Errc::invalid_argument, "--measure threshold needs --pairs FILE (labelled question pairs, JSONL)"));
    const std::string learner_name = args.learner == "encoder" ? "threshold" : args.learner;
    auto learner = open_learner(learner_name, plugin_dir(args.plugins));
    if (!learner) return fail(learner.error().with_context("--learner"));
    auto pairs = learning::read_pairs(args.pairs, args.pairs_limit);
    if (!pairs) return fail(pairs.error());
    auto setup = learning::prepare_threshold_tuning(std::move(*pairs), args.tune_share, args.split_seed, args.delta, *learner, args.learner_config);
    if (!setup) return fail(setup.error());
    if (!options.space) // the threshold learner's own knobs, from its defaults
        options.space = R"({"parameters": {"explore_rate": {"min": 0.002, "max": 0.5, "log": true},
                                           "prior_sd": {"min": 0.005, "max": 0.5, "log": true},
                                           "per_entry": {"min": 1, "max": 256, "integer": true}},
                            "start": {"explore_rate": 0.05, "prior_sd": 0.05, "per_entry": 64}})";
    options.evaluation = {{"kind", "threshold"}, {"learner", learner_name}, {"pairs", args.pairs}, {"pairs_limit", args.pairs_limit},
                          {"split_seed", args.split_seed}, {"tune_share", args.tune_share}, {"delta", args.delta},
                          {"learner_config", args.learner_config}};
    const loader::PluginFacts &facts = library->facts();
    Progress progress("search " + options.name);
    auto summary = run_reported_search(args, db, library, options, learning::threshold_evaluator(*setup), progress,
                                       fmt::format("a configuration of {} run over {} shuffled pairs at delta {:.3f} (held out: {})", learner_name,
                                                   setup->tuning.size(), args.delta, setup->held_out.size()));
    if (!summary) return fail(summary.error());
    const std::optional<std::string> best_params = best_measured_params(args, facts, options.name, *summary, learning::kFailedThreshold);
    if (!best_params) return 0;
    auto judged = learning::judge_threshold(*setup, *best_params);
    if (!judged) return fail(judged.error().with_context("judging the best on the held-out pairs"));
    auto figures = [&](const learning::ThresholdRun &run) {
        return nlohmann::json{{"paraphrases_served", run.paraphrases_served()}, {"false_hit_rate", run.false_hit_rate()},
                              {"score", learning::threshold_score(run, args.delta)}, {"served", run.served}, {"explored", run.explored}};
    };
    if (args.json) {
        nlohmann::json out = search_json(options.name, facts, *summary);
        out["held_out"] = {{"pairs", setup->held_out.size()}, {"params", nlohmann::json::parse(*best_params)},
                           {"defaults", figures(judged->defaults)}, {"tuned", figures(judged->tuned)}};
        std::printf("%s\n", out.dump(2).c_str());
        return 0;
    }
    if (summary->resumed_from > 0) std::printf("resumed after %llu recorded trials\n", static_cast<unsigned long long>(summary->resumed_from));
    std::printf("best: trial #%lld, score %.2f (paraphrases served in points, less %.0f per point of false hits above delta)\n  %s\n",
                static_cast<long long>(summary->best->number), summary->best->score, learning::kFalseHitPenalty,
                describe_candidate(summary->best->candidate).c_str());
    std::printf("held out (%zu pairs), defaults -> best: paraphrases served %.2f%% -> %.2f%%, false-hit rate %.2f%% -> %.2f%% (delta %.2f%%), "
                "score %.2f -> %.2f\n",
                setup->held_out.size(), 100 * judged->defaults.paraphrases_served(), 100 * judged->tuned.paraphrases_served(),
                100 * judged->defaults.false_hit_rate(), 100 * judged->tuned.false_hit_rate(), 100 * args.delta,
                learning::threshold_score(judged->defaults, args.delta), learning::threshold_score(judged->tuned, args.delta));
    return 0;
}

// `--measure drift`: the candidates are parameter sets of the matching learner for carrying on
// to new questions (tune: EWC's λ, the learning rate on B), each continuing from one checkpoint
// trained on --pairs (A) for --steps-b on --pairs-b (B), scored by the mean validation AUC on A
// and B; the best is judged on the test questions beside the learner's defaults
// (learning/continual_tuning.hpp).
int run_drift_search(const OptimizeArgs &args, const std::shared_ptr<loader::PluginLibrary> &library, store::Database &db,
                     learning::SearchOptions options) {
    if (args.pairs.empty() || args.pairs_b.empty())
        return fail(Status(Errc::invalid_argument, "--measure drift needs --pairs A.jsonl and --pairs-b B.jsonl (two domains' labelled pairs)"));
    auto learner = open_learner(args.learner, plugin_dir(args.plugins));
    if (!learner) return fail(learner.error().with_context("--learner"));
    auto first = learning::read_pairs(args.pairs, args.pairs_limit);
    if (!first) return fail(first.error());
    auto second = learning::read_pairs(args.pairs_b, args.pairs_limit);
    if (!second) return fail(second.error());
    learning::PairSplit a = learning::split_by_question(*first, 0.2, 0.2, args.split_seed);
    learning::PairSplit b = learning::split_by_question(*second, 0.2, 0.2, args.split_seed);
    if (!options.space)
        options.space = R"({"parameters": {"ewc_lambda": {"min": 1, "max": 100000, "log": true},
                                           "learning_rate": {"min": 0.0001, "max": 0.01, "log": true}},
                            "start": {"ewc_lambda": 1000, "learning_rate": 0.002}})";
    options.evaluation = {{"kind", "drift"}, {"learner", args.learner}, {"pairs_a", args.pairs}, {"pairs_b", args.pairs_b},
                          {"pairs_limit", args.pairs_limit}, {"split_seed", args.split_seed}, {"steps_a", args.steps_a},
                          {"steps_b", args.steps_b}, {"learner_config", args.learner_config}};
    const loader::PluginFacts &facts = library->facts();
    Progress training("training on A once");
    auto setup = learning::prepare_continual_tuning(std::move(a), std::move(b), *learner, args.learner_config, args.steps_a, args.steps_b,
                                                    args.split_seed, [&](uint64_t done, uint64_t total) { training.update(done, total); });
    training.suspend();
    if (!setup) return fail(setup.error());
    Progress progress("search " + options.name);
    auto summary = run_reported_search(args, db, library, options, learning::continual_evaluator(*setup), progress,
                                       fmt::format("{} continued from A ({} pairs, {} steps; validation AUC {:.2f}) for {} steps on B ({} pairs)",
                                                   args.learner, setup->a.train.size(), args.steps_a, setup->auc_a_after_a, args.steps_b,
                                                   setup->b.train.size()));
    if (!summary) return fail(summary.error());
    const std::optional<std::string> best_params = best_measured_params(args, facts, options.name, *summary, learning::kFailedContinual);
    if (!best_params) return 0;
    auto judged = learning::judge_continual(*setup, *best_params);
    if (!judged) return fail(judged.error().with_context("judging the best on the test questions"));
    if (args.json) {
        nlohmann::json out = search_json(options.name, facts, *summary);
        auto figures = [](const learning::ContinualJudgement &j) { return nlohmann::json{{"auc_a", j.a}, {"auc_b", j.b}, {"mean", j.mean()}}; };
        out["held_out"] = {{"params", nlohmann::json::parse(*best_params)}, {"defaults", figures(judged->defaults)}, {"tuned", figures(judged->tuned)}};
        std::printf("%s\n", out.dump(2).c_str());
        return 0;
    }
    if (summary->resumed_from > 0) std::printf("resumed after %llu recorded trials\n", static_cast<unsigned long long>(summary->resumed_from));
    std::printf("best: trial #%lld, mean validation AUC %.2f on A and B after B\n  %s\n", static_cast<long long>(summary->best->number),
                summary->best->score, describe_candidate(summary->best->candidate).c_str());
    std::printf("test questions, the learner's defaults -> best: AUC on A %.2f -> %.2f, on B %.2f -> %.2f, mean %.2f -> %.2f\n",
                judged->defaults.a, judged->tuned.a, judged->defaults.b, judged->tuned.b, judged->defaults.mean(), judged->tuned.mean());
    return 0;
}

} // namespace aicache::cli
