#include "learning/threshold_eval.hpp"

#include "core/hash.hpp"
#include "learning/semantic_eval.hpp"
#include "learning/tfidf.hpp"
#include "loader/learner_instance.hpp"

#include <nlohmann/json.hpp>

namespace aicache::learning {

Expected<ThresholdRun> run_threshold_stream(const std::vector<LabelledPair> &stream, const std::shared_ptr<const loader::PluginLibrary> &learner,
                                            double delta, const std::string &extra_config,
                                            const std::function<void(uint64_t, uint64_t)> &progress) {
    // Similarities need no labels: document frequencies from every text of the stream.
    TfIdf tfidf;
    std::vector<std::string> documents;
    for (const auto &p : stream) documents.push_back(p.a), documents.push_back(p.b);
    tfidf.fit(documents);

    nlohmann::json config = nlohmann::json::parse(extra_config, nullptr, false);
    if (config.is_discarded() || !config.is_object()) return Status(Errc::invalid_argument, "--config: not a JSON object: " + extra_config);
    config["delta"] = delta;
    auto instance = loader::LearnerInstance::create(learner, config.dump());
    if (!instance) return instance.error();
    ThresholdRun run;
    run.delta = delta;
    std::vector<ScoredPair> all;
    for (const auto &p : stream) {
        const double s = tfidf.similarity(p.a, p.b);
        const uint64_t key = hash_key(p.a);
        all.push_back({s, p.label});
        ++run.requests;
        run.positives += p.label == 1;
        run.negatives += p.label == 0;
        auto answer = instance->infer(nlohmann::json{{"op", "decide"}, {"key", key}, {"similarity", s}}.dump());
        if (!answer) return answer.error();
        nlohmann::json decision = nlohmann::json::parse(*answer, nullptr, false);
        if (decision.is_discarded() || !decision.contains("exploit"))
            return Status(Errc::plugin, learner->facts().name + ": decide answered " + answer->substr(0, 200));
        if (decision["exploit"].get<bool>()) {
            ++run.served;
            run.served_wrong += p.label == 0;
        } else {
            ++run.explored;
            run.cold += decision.value("why", "") == "cold";
            aicache_example outcome{};
            outcome.struct_size = sizeof outcome;
            outcome.type = AICACHE_EXAMPLE_MATCH_OUTCOME;
            outcome.key = key;
            outcome.label = p.label;
            outcome.score = s;
            if (Status observed = instance->observe(outcome); !observed) return observed;
        }
        if (run.requests % 1000 == 0) {
            if (auto trained = instance->train(100); !trained) return trained.error();
            if (progress) progress(run.requests, stream.size());
        }
    }
    // Hindsight: the static threshold that served the most paraphrases within the same false-hit rate.
    for (const OperatingPoint &point : hit_curve(all)) {
        if (point.false_hit_rate <= delta && point.hit_rate >= run.static_paraphrases_served) {
            run.static_threshold = point.threshold;
            run.static_paraphrases_served = point.hit_rate;
            run.static_false_hit_rate = point.false_hit_rate;
        }
    }
    auto metrics = instance->train(100);
    if (metrics) run.final_metrics = *metrics;
    return run;
}

} // namespace aicache::learning
