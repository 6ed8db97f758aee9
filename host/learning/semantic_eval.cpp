#include "learning/semantic_eval.hpp"

#include "learning/tfidf.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <set>

namespace aicache::learning {

OperatingPoint operate_at(const std::vector<ScoredPair> &pairs, double threshold) {
    OperatingPoint p;
    p.threshold = threshold;
    for (const auto &s : pairs) {
        bool hit = s.score >= threshold;
        if (s.label == 1) ++p.positives, p.true_hits += hit;
        else ++p.negatives, p.false_hits += hit;
    }
    p.hit_rate = p.positives ? double(p.true_hits) / double(p.positives) : 0;
    p.false_hit_rate = p.negatives ? double(p.false_hits) / double(p.negatives) : 0;
    p.precision = p.true_hits + p.false_hits ? double(p.true_hits) / double(p.true_hits + p.false_hits) : 1;
    return p;
}

nlohmann::json operating_point_json(const OperatingPoint &p) {
    // No threshold meets the target: +inf, which JSON cannot spell.
    return {{"threshold", std::isfinite(p.threshold) ? nlohmann::json(p.threshold) : nlohmann::json()},
            {"hit_rate", p.hit_rate},
            {"false_hit_rate", p.false_hit_rate},
            {"precision", p.precision},
            {"true_hits", p.true_hits},
            {"false_hits", p.false_hits},
            {"positives", p.positives},
            {"negatives", p.negatives}};
}

std::vector<OperatingPoint> hit_curve(std::vector<ScoredPair> pairs) {
    std::sort(pairs.begin(), pairs.end(), [](const ScoredPair &x, const ScoredPair &y) { return x.score > y.score; });
    uint64_t positives = 0, negatives = 0;
    for (const auto &s : pairs) (s.label == 1 ? positives : negatives)++;
    std::vector<OperatingPoint> curve;
    uint64_t tp = 0, fp = 0;
    for (size_t i = 0; i < pairs.size(); ++i) {
        (pairs[i].label == 1 ? tp : fp)++;
        if (i + 1 < pairs.size() && pairs[i + 1].score == pairs[i].score) continue; // ties hit together
        OperatingPoint p;
        p.threshold = pairs[i].score;
        p.true_hits = tp;
        p.false_hits = fp;
        p.positives = positives;
        p.negatives = negatives;
        p.hit_rate = positives ? double(tp) / double(positives) : 0;
        p.false_hit_rate = negatives ? double(fp) / double(negatives) : 0;
        p.precision = double(tp) / double(tp + fp);
        curve.push_back(p);
    }
    return curve;
}

double pick_threshold(const std::vector<ScoredPair> &pairs, double target, double z) {
    double chosen = std::numeric_limits<double>::infinity();
    for (const OperatingPoint &p : hit_curve(pairs)) {
        double rate = p.false_hit_rate;
        if (z > 0 && p.negatives > 0) {
            const double n = double(p.negatives), z2 = z * z;
            rate = (rate + z2 / (2 * n) + z * std::sqrt(rate * (1 - rate) / n + z2 / (4 * n * n))) / (1 + z2 / n);
        }
        if (rate > target) break; // the rate (and its bound) only grows as the threshold falls
        chosen = p.threshold;
    }
    return chosen;
}

namespace {

OperatingPoint oracle_at(const std::vector<OperatingPoint> &curve, double target) {
    OperatingPoint best;
    for (const OperatingPoint &p : curve)
        if (p.false_hit_rate <= target && p.hit_rate >= best.hit_rate) best = p;
    return best;
}

MethodResult judge(const std::string &name, const std::vector<ScoredPair> &validation, const std::vector<ScoredPair> &test, double target,
                   double z) {
    MethodResult r;
    r.name = name;
    r.chosen = operate_at(test, pick_threshold(validation, target, z));
    r.curve = hit_curve(test);
    r.oracle = oracle_at(r.curve, target);
    return r;
}

// Scores for every pair from embeddings (cosine) or from the learner's match op, in batches.
Expected<std::vector<ScoredPair>> cosine_scores(loader::LearnerInstance &learner, const std::vector<LabelledPair> &pairs) {
    std::vector<ScoredPair> out;
    constexpr size_t kBatch = 256;
    for (size_t at = 0; at < pairs.size(); at += kBatch) {
        std::vector<std::string> texts;
        size_t end = std::min(pairs.size(), at + kBatch);
        for (size_t i = at; i < end; ++i) texts.push_back(pairs[i].a), texts.push_back(pairs[i].b);
        size_t dim = 0;
        auto rows = learner.embed(texts, dim);
        if (!rows) return rows.error();
        for (size_t i = at; i < end; ++i) {
            const float *u = rows->data() + (2 * (i - at)) * dim, *v = u + dim;
            double dot = 0;
            for (size_t k = 0; k < dim; ++k) dot += double(u[k]) * v[k];
            out.push_back({dot, pairs[i].label});
        }
    }
    return out;
}

Expected<std::vector<ScoredPair>> match_scores(loader::LearnerInstance &learner, const std::vector<LabelledPair> &pairs) {
    std::vector<ScoredPair> out;
    constexpr size_t kBatch = 256;
    for (size_t at = 0; at < pairs.size(); at += kBatch) {
        std::vector<std::pair<std::string, std::string>> batch;
        size_t end = std::min(pairs.size(), at + kBatch);
        for (size_t i = at; i < end; ++i) batch.emplace_back(pairs[i].a, pairs[i].b);
        auto scores = learner.match(batch);
        if (!scores) return scores.error();
        for (size_t i = at; i < end; ++i) out.push_back({(*scores)[i - at], pairs[i].label});
    }
    return out;
}

std::vector<ScoredPair> tfidf_scores(const TfIdf &model, const std::vector<LabelledPair> &pairs) {
    std::vector<ScoredPair> out;
    for (const auto &p : pairs) out.push_back({model.similarity(p.a, p.b), p.label});
    return out;
}

} // namespace

Expected<std::string> train_for(loader::LearnerInstance &learner, uint64_t budget_ms,
                                const std::function<void(uint64_t trained_ms, uint64_t budget_ms)> &on_progress) {
    auto started = std::chrono::steady_clock::now();
    constexpr uint64_t kSlice = 1000;
    std::string last = "{}";
    for (uint64_t spent = 0; spent < budget_ms;) {
        auto metrics = learner.train(std::min(kSlice, budget_ms - spent));
        if (!metrics) return metrics.error();
        last = std::move(*metrics);
        spent = static_cast<uint64_t>(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count());
        if (on_progress) on_progress(std::min(spent, budget_ms), budget_ms);
        // A learner budgeted in steps ({"train_steps": N}) says when it has none left: stop there
        // instead of calling it until the seconds are up.
        nlohmann::json reported = nlohmann::json::parse(last, nullptr, false);
        if (reported.is_object() && reported.value("train_steps_left", uint64_t(1)) == 0) break;
    }
    return last;
}

Expected<std::string> train_by_steps(loader::LearnerInstance &learner, uint64_t steps, const std::function<void(uint64_t, uint64_t)> &progress) {
    std::string last = "{}";
    for (uint64_t done = 0; done < steps;) {
        auto metrics = learner.train(1000);
        if (!metrics) return metrics.error();
        const nlohmann::json m = nlohmann::json::parse(*metrics, nullptr, false);
        if (!m.is_object() || !m.contains("steps") || !m["steps"].is_number_unsigned())
            return Status(Errc::invalid_argument,
                          learner.library().facts().name + " reports no \"steps\" from train(): it cannot be trained by steps, use budgets in seconds");
        last = std::move(*metrics);
        const uint64_t taken = m["steps"].get<uint64_t>();
        if (taken == 0) break; // nothing to train on, or its train_steps are spent
        done += taken;
        if (progress) progress(std::min(done, steps), steps);
    }
    return last;
}

double area_under(const std::vector<OperatingPoint> &curve) {
    double area = 0, x = 0, y = 0;
    for (const OperatingPoint &p : curve) {
        area += (p.false_hit_rate - x) * (p.hit_rate + y) / 2;
        x = p.false_hit_rate, y = p.hit_rate;
    }
    return area + (1 - x) * (1 + y) / 2;
}

Expected<LearnerScores> learner_scores(loader::LearnerInstance &learner, const std::vector<LabelledPair> &pairs) {
    auto info = learner.infer(R"({"op":"info"})");
    if (!info) return info.error();
    nlohmann::json ops = nlohmann::json::parse(*info, nullptr, false).value("ops", nlohmann::json::array());
    std::set<std::string> supported(ops.begin(), ops.end());
    const std::string name = learner.library().facts().name;
    if (supported.count("match")) {
        auto scored = match_scores(learner, pairs);
        if (!scored) return scored.error();
        return LearnerScores{name + "-relation-head", std::move(*scored)};
    }
    if (!supported.count("embed"))
        return Status(Errc::invalid_argument, name + " neither embeds nor matches texts (its info lists no \"embed\" or \"match\" op)");
    auto scored = cosine_scores(learner, pairs);
    if (!scored) return scored.error();
    return LearnerScores{name + "-cosine", std::move(*scored)};
}

Expected<MethodResult> measure_held_out(loader::LearnerInstance &learner, const std::vector<LabelledPair> &validation,
                                        const std::vector<LabelledPair> &test, double target, double z) {
    auto v = learner_scores(learner, validation);
    if (!v) return v.error();
    auto t = learner_scores(learner, test);
    if (!t) return t.error();
    return judge(v->method, v->pairs, t->pairs, target, z);
}

Expected<SemanticEvalReport> evaluate_semantic(const PairSplit &split, const std::shared_ptr<const loader::PluginLibrary> &learner,
                                               const SemanticEvalOptions &options) {
    SemanticEvalReport report;
    report.train_pairs = split.train.size();
    report.validation_pairs = split.validation.size();
    report.test_pairs = split.test.size();
    report.learner = learner->facts().name_and_version();
    if (split.validation.empty() || split.test.empty())
        return Status(Errc::invalid_argument, "too few pairs to hold out validation and test questions");
    const double target = options.target_false_hit_rate;

    // Baseline 1: TF-IDF cosine, document frequencies from the training questions.
    TfIdf tfidf;
    std::vector<std::string> documents;
    for (const auto &p : split.train) documents.push_back(p.a), documents.push_back(p.b);
    tfidf.fit(documents);
    report.methods.push_back(judge("tfidf-cosine", tfidf_scores(tfidf, split.validation), tfidf_scores(tfidf, split.test), target, options.confidence_z));

    // Baseline 2: the same encoder before any training (cosine of its random-initialised embeddings).
    auto untrained = loader::LearnerInstance::create(learner, options.learner_config);
    if (!untrained) return untrained.error();
    auto info = untrained->infer(R"({"op":"info"})");
    if (!info) return info.error();
    nlohmann::json ops = nlohmann::json::parse(*info, nullptr, false).value("ops", nlohmann::json::array());
    std::set<std::string> supported(ops.begin(), ops.end());
    if (!supported.count("embed")) return Status(Errc::invalid_argument, report.learner + " does not embed texts (its info lists no \"embed\" op)");
    {
        auto v = cosine_scores(*untrained, split.validation);
        auto t = v ? cosine_scores(*untrained, split.test) : v;
        if (!t) return t.error();
        report.methods.push_back(judge("encoder-untrained-cosine", *v, *t, target, options.confidence_z));
    }

    // The learner, trained on the training split only.
    auto trained = loader::LearnerInstance::create(learner, options.learner_config);
    if (!trained) return trained.error();
    for (const auto &p : split.train)
        if (Status s = trained->observe_pair(p.a, p.b, p.label); !s) return s;
    auto started = std::chrono::steady_clock::now();
    auto metrics = train_for(*trained, options.train_budget_ms, options.on_progress);
    if (!metrics) return metrics.error();
    report.train_metrics = std::move(*metrics);
    report.train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    {
        auto v = cosine_scores(*trained, split.validation);
        auto t = v ? cosine_scores(*trained, split.test) : v;
        if (!t) return t.error();
        report.methods.push_back(judge("encoder-trained-cosine", *v, *t, target, options.confidence_z));
    }
    if (options.keep_checkpoint) {
        auto state = trained->save_state();
        if (!state) return state.error().with_context("checkpoint");
        report.checkpoint = std::move(*state);
    }
    if (supported.count("match")) {
        auto v = match_scores(*trained, split.validation);
        auto t = v ? match_scores(*trained, split.test) : v;
        if (!t) return t.error();
        report.methods.push_back(judge("encoder-relation-head", *v, *t, target, options.confidence_z));
    }
    return report;
}

} // namespace aicache::learning
