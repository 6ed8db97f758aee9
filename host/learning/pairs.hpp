// Labelled question pairs ({"a": ..., "b": ..., "label": 0|1} per line) and a split that holds
// out questions, not just pairs: texts joined by any pair form one component, and whole
// components go to train, validation or test, so no test question was ever seen in training.
#pragma once

#include "core/status.hpp"

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace aicache::learning {

struct LabelledPair {
    std::string a, b;
    int label = 0; // 1: b may be answered with a's answer
};

struct PairSplit {
    std::vector<LabelledPair> train, validation, test;
};

// Reads a JSONL pairs file; a malformed line is an error naming the file and line. `limit` > 0
// keeps the first `limit` pairs.
Expected<std::vector<LabelledPair>> read_pairs(const std::filesystem::path &file, uint64_t limit = 0);

// Shares are of components; which share a component falls in depends only on its texts and `seed`.
PairSplit split_by_question(const std::vector<LabelledPair> &pairs, double validation_share, double test_share, uint64_t seed);

} // namespace aicache::learning
