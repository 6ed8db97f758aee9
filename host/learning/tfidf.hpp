// The static baseline semantic caches are measured against: cosine similarity of TF-IDF vectors
// over hashed word unigrams, bigrams and character trigrams (the same kinds of features the
// encoder learns from), with inverse document frequencies counted on the training texts only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace aicache::learning {

class TfIdf {
public:
    explicit TfIdf(uint32_t buckets = 1u << 20) : document_frequency_(buckets, 0) {}

    void fit(const std::vector<std::string> &documents);
    // Cosine of the two texts' TF-IDF vectors, in [0, 1].
    [[nodiscard]] double similarity(std::string_view a, std::string_view b) const;

private:
    using SparseVector = std::vector<std::pair<uint32_t, double>>; // sorted by bucket
    [[nodiscard]] SparseVector vector_of(std::string_view text) const;
    [[nodiscard]] std::vector<uint32_t> features(std::string_view text) const;

    std::vector<uint32_t> document_frequency_;
    uint64_t documents_ = 0;
};

} // namespace aicache::learning
