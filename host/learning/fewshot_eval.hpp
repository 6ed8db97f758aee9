// `aicache eval fewshot`: what verified paraphrases of a cached question are worth. Paraphrase
// clusters (questions joined by positive pairs) that no training run saw are split in two: the
// cached half has one member cached as an entry, up to n more indexed as its verified aliases
// (SemanticMatcher::teach) and one held back as the question asked; the uncached half's questions
// are asked too and have no right answer in the cache. Every lookup runs the data plane's steps
// (embed, HNSW search over the k nearest, relation head, neighbour_vote) among distractor entries
// from the training questions, and is scored right (the asked question's own cluster), wrong (any
// other answer) or a miss. Each arm with n verified members is compared with 0 on the same
// clusters (those with at least n + 2 members), at the static threshold where the share of wrong
// answers among all lookups stays under the target, found on these lookups themselves for every
// arm alike.
#pragma once

#include "cache/neighbour_vote.hpp"
#include "core/status.hpp"
#include "learning/pairs.hpp"
#include "loader/plugin_library.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace aicache::learning {

struct FewShotOptions {
    std::vector<size_t> shots = {1, 2, 4};
    size_t neighbours = 4;
    float temperature = 16.0f;
    double target_false_hit_rate = 0.02;
    size_t distractors = 20'000; // training questions cached beside the clusters' entries
    uint64_t train_budget_ms = 60'000;
    std::optional<std::string> checkpoint; // a trained state to use instead of training
    bool keep_checkpoint = false;          // return the state trained here (for --checkpoint next time)
    std::string learner_config = "{}";
    uint64_t seed = 1; // which half of the questions is held out, and which members play which part
    std::function<void(const std::string &step, uint64_t done, uint64_t total)> on_progress;
};

struct FewShotPoint {
    double threshold = 0;
    double hit_rate = 0;       // right answers / questions whose cluster is cached
    double false_hit_rate = 0; // wrong answers / all questions
    uint64_t right = 0, wrong = 0, positives = 0, questions = 0;
};

struct FewShotWrong {
    float score = 0;
    std::string question, answered_from; // the question asked, the cached question it was answered from
};

struct FewShotArm {
    size_t shots = 0;    // verified members beside the entry
    size_t clusters = 0; // cached clusters it asks about (those with >= shots + 2 members)
    cache::Pooling pooling = cache::Pooling::nearest;
    FewShotPoint point;
    std::vector<FewShotWrong> wrong; // up to 10 wrong answers given at the operating point, highest score first
};

struct FewShotReport {
    size_t train_pairs = 0, cached_clusters = 0, uncached_clusters = 0, distractors = 0;
    double train_seconds = 0;
    std::string learner;
    std::vector<FewShotArm> arms; // per shots value: 0 and n, each pooled both ways
    std::string checkpoint;       // the state trained here, when asked for
};

Expected<FewShotReport> evaluate_fewshot(const std::vector<LabelledPair> &pairs, const std::shared_ptr<const loader::PluginLibrary> &learner,
                                         const FewShotOptions &options);

// The operating point at the lowest threshold whose wrong answers stay within target * questions.
struct ScoredLookup {
    float score = 0;
    bool right = false;
};
FewShotPoint best_point(std::vector<ScoredLookup> lookups, uint64_t positives, uint64_t questions, double target);

} // namespace aicache::learning
