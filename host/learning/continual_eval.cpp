#include "learning/continual_eval.hpp"

#include "loader/learner_instance.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <random>

namespace aicache::learning {
namespace {

// The base configuration with `extra`'s members over it.
std::string configured(const std::string &base, const nlohmann::json &extra) {
    nlohmann::json config = nlohmann::json::parse(base, nullptr, false);
    if (!config.is_object()) config = nlohmann::json::object();
    config.update(extra);
    return config.dump();
}

Expected<loader::LearnerInstance> fresh(const std::shared_ptr<const loader::PluginLibrary> &library, const std::string &config,
                                        const std::string *state = nullptr) {
    auto instance = loader::LearnerInstance::create(library, config);
    if (!instance) return instance.error();
    if (state != nullptr)
        if (Status loaded = instance->load_state(*state); !loaded) return loaded.with_context("continuing from a checkpoint");
    return instance;
}

// Observes `pairs`, trains for the budget (steps when `steps` > 0, else milliseconds), reports
// the learner's last metrics.
Expected<std::string> train_on(loader::LearnerInstance &learner, const std::vector<LabelledPair> &pairs, uint64_t budget_ms, uint64_t steps,
                               const std::string &step, const StepProgress &progress) {
    for (const auto &p : pairs)
        if (Status s = learner.observe_pair(p.a, p.b, p.label); !s) return s;
    auto report = [&](uint64_t done, uint64_t total) {
        if (progress) progress(step, done, total);
    };
    return steps > 0 ? train_by_steps(learner, steps, report) : train_for(learner, budget_ms, report);
}

Expected<MethodResult> held_out(loader::LearnerInstance &learner, const PairSplit &split, double target, double z, std::string *method) {
    auto measured = measure_held_out(learner, split.validation, split.test, target, z);
    if (!measured) return measured.error();
    if (method != nullptr) *method = measured->name;
    return measured;
}

Expected<HeldOut> on_both(loader::LearnerInstance &learner, const PairSplit &a, const PairSplit &b, const DriftOptions &o, std::string *method) {
    auto on_a = held_out(learner, a, o.target_false_hit_rate, o.confidence_z, method);
    if (!on_a) return on_a.error();
    auto on_b = held_out(learner, b, o.target_false_hit_rate, o.confidence_z, nullptr);
    if (!on_b) return on_b.error();
    return HeldOut{on_a->chosen, on_b->chosen, area_under(on_a->curve), area_under(on_b->curve)};
}

} // namespace

Expected<DriftReport> evaluate_drift(const PairSplit &a, const PairSplit &b, const std::shared_ptr<const loader::PluginLibrary> &learner,
                                     const DriftOptions &options) {
    if (a.test.empty() || b.test.empty() || a.validation.empty() || b.validation.empty())
        return Status(Errc::invalid_argument, "each domain needs enough pairs to hold out validation and test questions");
    DriftReport report;
    // What every instance shares: the seed, and the step budget of its training.
    auto with = [&](nlohmann::json extra, uint64_t steps) {
        if (options.learner_seed) extra["seed"] = *options.learner_seed;
        if (steps > 0) extra["train_steps"] = steps;
        return configured(options.learner_config, extra);
    };
    // Domain A, once: every mode continues from this same checkpoint (its memory holds A's pairs).
    auto first = fresh(learner, with({{"replay", 1}, {"ewc_lambda", 0}}, options.steps_a));
    if (!first) return first.error();
    auto trained_a = train_on(*first, a.train, options.budget_a_ms, options.steps_a, "training on A", options.on_progress);
    if (!trained_a) return trained_a.error();
    report.after_a_metrics = *trained_a;
    auto after_a = on_both(*first, a, b, options, &report.method);
    if (!after_a) return after_a.error();
    report.after_a = *after_a;
    auto checkpoint = first->save_state();
    if (!checkpoint) return checkpoint.error().with_context("checkpoint after A");

    struct Mode {
        const char *name;
        nlohmann::json config;
    };
    const Mode modes[] = {{"naive", {{"replay", 0}, {"ewc_lambda", 0}}},
                          {"replay", {{"replay", 1}, {"ewc_lambda", 0}}},
                          {"replay+ewc", {{"replay", 1}, {"ewc_lambda", options.ewc_lambda}}}};
    for (const Mode &mode : modes) {
        auto learner_b = fresh(learner, with(mode.config, options.steps_b), &*checkpoint);
        if (!learner_b) return learner_b.error();
        auto metrics = train_on(*learner_b, b.train, options.budget_b_ms, options.steps_b, std::string("B, ") + mode.name, options.on_progress);
        if (!metrics) return metrics.error();
        auto after_b = on_both(*learner_b, a, b, options, nullptr);
        if (!after_b) return after_b.error();
        report.rows.push_back({mode.name, *after_b, *metrics});
    }
    return report;
}

Spread spread_of(const std::vector<double> &values) {
    Spread s;
    s.n = values.size();
    if (values.empty()) return s;
    for (double v : values) s.mean += v;
    s.mean /= double(values.size());
    if (values.size() < 2) return s;
    double squares = 0;
    for (double v : values) squares += (v - s.mean) * (v - s.mean);
    s.sd = std::sqrt(squares / double(values.size() - 1));
    return s;
}

DriftSummary summarize_drift(const std::vector<DriftReport> &runs) {
    DriftSummary summary;
    if (runs.empty()) return summary;
    std::vector<double> a_after_a, b_after_a;
    for (const DriftReport &r : runs) a_after_a.push_back(100 * r.after_a.a.hit_rate), b_after_a.push_back(100 * r.after_a.b.hit_rate);
    summary.a_after_a = spread_of(a_after_a);
    summary.b_after_a = spread_of(b_after_a);
    for (size_t m = 0; m < runs.front().rows.size(); ++m) {
        std::vector<double> a, b, forgot, auc_forgot;
        for (const DriftReport &r : runs) {
            if (m >= r.rows.size()) continue;
            const HeldOut &after = r.rows[m].after_b;
            a.push_back(100 * after.a.hit_rate);
            b.push_back(100 * after.b.hit_rate);
            forgot.push_back(100 * (r.after_a.a.hit_rate - after.a.hit_rate));
            auc_forgot.push_back(100 * (r.after_a.auc_a - after.auc_a));
        }
        summary.modes.push_back({runs.front().rows[m].mode, spread_of(a), spread_of(b), spread_of(forgot), spread_of(auc_forgot)});
    }
    return summary;
}

Expected<TransferReport> evaluate_transfer(const std::vector<LabelledPair> &pretrain, const PairSplit &target,
                                           const std::shared_ptr<const loader::PluginLibrary> &learner, const TransferOptions &options) {
    if (target.test.empty() || target.validation.empty())
        return Status(Errc::invalid_argument, "the target set needs enough pairs to hold out validation and test questions");
    TransferReport report;
    auto pretrained = fresh(learner, options.learner_config);
    if (!pretrained) return pretrained.error();
    if (auto trained = train_on(*pretrained, pretrain, options.pretrain_ms, 0, "pretraining", options.on_progress); !trained) return trained.error();
    auto zero = held_out(*pretrained, target, options.target_false_hit_rate, options.confidence_z, &report.method);
    if (!zero) return zero.error();
    report.pretrained_only = zero->chosen;
    auto checkpoint = pretrained->save_state();
    if (!checkpoint) return checkpoint.error().with_context("checkpoint after pretraining");

    // The first n of one shuffled order, so each larger n contains the smaller ones.
    std::vector<LabelledPair> labelled = target.train;
    std::shuffle(labelled.begin(), labelled.end(), std::mt19937_64(options.seed));
    for (size_t n : options.label_counts) {
        n = std::min(n, labelled.size());
        std::vector<LabelledPair> few(labelled.begin(), labelled.begin() + static_cast<std::ptrdiff_t>(n));
        TransferPoint point;
        point.labels = n;
        for (bool from_pretrained : {true, false}) {
            auto instance = fresh(learner, options.learner_config, from_pretrained ? &*checkpoint : nullptr);
            if (!instance) return instance.error();
            const std::string step = std::to_string(n) + (from_pretrained ? " labels, fine-tuned" : " labels, scratch");
            if (auto trained = train_on(*instance, few, options.finetune_ms, 0, step, options.on_progress); !trained) return trained.error();
            auto measured = held_out(*instance, target, options.target_false_hit_rate, options.confidence_z, nullptr);
            if (!measured) return measured.error();
            (from_pretrained ? point.fine_tuned : point.scratch) = measured->chosen;
        }
        report.curve.push_back(point);
        if (n == labelled.size()) break; // larger counts would repeat this one
    }
    return report;
}

} // namespace aicache::learning
