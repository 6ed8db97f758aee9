// The host's semantic index: approximate nearest neighbours (hnswlib's HNSW graphs, Malkov &
// Yashunin 2018) over unit-length embeddings, one graph per scope. A scope is what must match for
// a cached answer to be a candidate at all (tenant, model, parameters, conversation context), so a
// paraphrase is only ever looked for among answers given in the same circumstances. Similarity is
// the dot product (the cosine, for unit vectors). Searches share a lock; inserts and removals take
// it alone. hnswlib appears only in semantic_index.cpp.
#pragma once

#include "core/status.hpp"

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <shared_mutex>
#include <span>
#include <vector>

namespace aicache::cache {

struct Neighbour {
    uint64_t key = 0;
    float similarity = 0; // cosine in [-1, 1]
    std::vector<float> vector; // the stored embedding, when the search was asked for it
};

class SemanticIndex {
public:
    explicit SemanticIndex(size_t dim);
    ~SemanticIndex();
    SemanticIndex(const SemanticIndex &) = delete;
    SemanticIndex &operator=(const SemanticIndex &) = delete;

    [[nodiscard]] size_t dim() const noexcept { return dim_; }
    // Inserts or replaces the key's vector in the scope. The vector must have dim() values.
    Status add(uint64_t scope, uint64_t key, std::span<const float> vector);
    void remove(uint64_t scope, uint64_t key);
    // Up to k nearest keys of the scope, most similar first; with their stored vectors if asked
    // (for re-scoring them without embedding their texts again).
    [[nodiscard]] std::vector<Neighbour> search(uint64_t scope, std::span<const float> vector, size_t k, bool with_vectors = false) const;
    [[nodiscard]] size_t size() const; // live entries over every scope
    // HNSW's beam width at query time (ef): wider finds the true nearest more often, slower.
    void set_search_beam(size_t ef);

    // A snapshot: one file per scope and a manifest with their sizes and XXH3 checksums. Loading
    // checks every file against the manifest before hnswlib reads it (hnswlib trusts its input),
    // and refuses the whole snapshot on any mismatch: the caller then rebuilds from the store.
    // `tag` names what the snapshot is of (the model and the store's generation); load refuses a
    // snapshot whose tag differs from `expected_tag`.
    Status save(const std::filesystem::path &directory, const std::string &tag = "") const;
    static Expected<std::unique_ptr<SemanticIndex>> load(const std::filesystem::path &directory, size_t dim, const std::string &expected_tag = "");

private:
    struct Scope;
    Scope &scope_for(uint64_t scope); // caller holds the lock exclusively
    void compact(Scope &scope);

    size_t dim_;
    size_t search_beam_;
    mutable std::shared_mutex mutex_;
    std::map<uint64_t, std::unique_ptr<Scope>> scopes_;
};

} // namespace aicache::cache
