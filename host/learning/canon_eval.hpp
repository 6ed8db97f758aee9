// Measuring prompt canonicalizations (cache/prompt_canon.hpp) on labelled pairs: with a set of
// steps applied to both questions, a positive pair whose texts become equal is an exact hit gained,
// a negative pair whose texts become equal is a false hit. For the canon optimizer
// (`aicache optimize run canon --measure pairs`): a set's score is the hit-rate points it gains
// over no canonicalization, and the worst score if it adds a single false hit.
#pragma once

#include "cache/prompt_canon.hpp"
#include "learning/pairs.hpp"
#include "learning/search.hpp"

#include <vector>

namespace aicache::learning {

struct ExactMatches {
    uint64_t hits = 0, false_hits = 0, positives = 0, negatives = 0;
    [[nodiscard]] double hit_rate() const { return positives ? double(hits) / double(positives) : 0; }
    [[nodiscard]] double false_hit_rate() const { return negatives ? double(false_hits) / double(negatives) : 0; }
};

ExactMatches exact_matches(const std::vector<LabelledPair> &pairs, const cache::PromptCanon &canon);

constexpr double kFailedCanon = -100;
// Candidates are {"params": {"steps": "whitespace,case"}}; `pairs` must outlive the evaluator.
Evaluator canon_evaluator(const std::vector<LabelledPair> &pairs, std::string split_name);

} // namespace aicache::learning
