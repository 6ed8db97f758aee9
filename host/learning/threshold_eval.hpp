// `aicache eval threshold`: a threshold learner run online over a stream of labelled pairs, as it
// would run in front of a cache. Each pair is a query (b) whose nearest cached entry is a, at the
// TF-IDF cosine of the two: the learner decides to serve a's answer or to explore (ask upstream);
// an explored query's outcome (right or wrong to have served a) is then observed, a served one is
// only counted. The measure is the false-hit rate (the share of non-paraphrase queries that were
// served), against its target δ, and the share of paraphrases served.
#pragma once

#include "core/status.hpp"
#include "learning/pairs.hpp"
#include "loader/plugin_library.hpp"

#include <functional>
#include <memory>
#include <vector>

namespace aicache::learning {

struct ThresholdRun {
    double delta = 0;
    uint64_t requests = 0, positives = 0, negatives = 0, served = 0, served_wrong = 0, explored = 0, cold = 0;
    [[nodiscard]] double false_hit_rate() const { return negatives ? double(served_wrong) / double(negatives) : 0; }
    [[nodiscard]] double wrong_among_served() const { return served ? double(served_wrong) / double(served) : 0; }
    [[nodiscard]] double paraphrases_served() const { return positives ? double(served - served_wrong) / double(positives) : 0; }
    // The best a single static threshold could do on the same stream in hindsight, kept to the same δ.
    double static_threshold = 0, static_paraphrases_served = 0, static_false_hit_rate = 0;
    std::string final_metrics; // the learner's own report at the end
};

Expected<ThresholdRun> run_threshold_stream(const std::vector<LabelledPair> &stream, const std::shared_ptr<const loader::PluginLibrary> &learner,
                                            double delta, const std::string &extra_config = "{}",
                                            const std::function<void(uint64_t, uint64_t)> &progress = {});

} // namespace aicache::learning
