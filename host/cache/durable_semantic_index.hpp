// The semantic index made durable: every add and remove is written to SQLite first
// (store/semantic_vectors, one transaction each, bumping the generation), then applied to the
// in-memory HNSW graphs. Opening loads the snapshot when it is of this model and of the store's
// current generation, and otherwise rebuilds the graphs from the stored vectors, so after a crash
// the index holds exactly what the store acknowledged.
#pragma once

#include "cache/semantic_index.hpp"
#include "core/status.hpp"
#include "store/semantic_vectors.hpp"

#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <unordered_map>
#include <vector>
#include <string>

namespace aicache::cache {

class DurableSemanticIndex {
public:
    struct Opened;
    // `model` names the embedding model (name, version and checkpoint hash): vectors of another
    // model are not loaded.
    static Expected<std::unique_ptr<DurableSemanticIndex>> open(store::Database &db, std::filesystem::path snapshot_dir, size_t dim,
                                                                std::string model);

    // `alias_of` != 0: the question is a verified paraphrase of that entry, indexed under its own
    // key and removed with it.
    Status add(uint64_t scope, uint64_t key, std::span<const float> vector, const std::string &question = "",
               const std::string &canonical_key = "", uint64_t alias_of = 0);
    // Removes the key and its aliases.
    Status remove(uint64_t scope, uint64_t key);
    [[nodiscard]] size_t alias_count(uint64_t key) const;
    // Questions whose vectors another model made (after the encoder or its checkpoint changed):
    // they are not in the index until embedded again and re-added with add_many.
    Expected<std::vector<store::SemanticVectors::Entry>> stale_entries();
    // Several entries with this model's vectors, stored in one transaction, then indexed.
    Status add_many(const std::vector<store::SemanticVectors::Entry> &entries, const std::vector<std::vector<float>> &vectors);
    // The cached question and canonical key stored with a key's vector.
    [[nodiscard]] std::optional<store::SemanticVectors::Entry> entry(uint64_t key) const;
    [[nodiscard]] std::vector<Neighbour> search(uint64_t scope, std::span<const float> vector, size_t k, bool with_vectors = false) const {
        return index_->search(scope, vector, k, with_vectors);
    }
    [[nodiscard]] size_t size() const { return index_->size(); }
    // Writes a snapshot of the current generation (at shutdown, or now and then).
    Status snapshot();
    [[nodiscard]] bool rebuilt_on_open() const noexcept { return rebuilt_; }

private:
    void remember_entry_locked(const store::SemanticVectors::Entry &e);
    DurableSemanticIndex(store::Database &db, std::filesystem::path dir, std::string model)
        : vectors_(db), snapshot_dir_(std::move(dir)), model_(std::move(model)) {}
    std::string tag(uint64_t generation) const { return model_ + "@" + std::to_string(generation); }

    store::SemanticVectors vectors_;
    std::filesystem::path snapshot_dir_;
    std::string model_;
    std::unique_ptr<SemanticIndex> index_;
    // Writes (store, then graph) and snapshots exclude each other, so a snapshot's generation
    // always describes exactly the graphs it saved. Searches do not take it.
    std::mutex write_mutex_;
    mutable std::shared_mutex entries_mutex_;
    std::unordered_map<uint64_t, store::SemanticVectors::Entry> entries_;
    std::unordered_map<uint64_t, std::vector<uint64_t>> aliases_; // entry key -> its aliases' keys
    bool rebuilt_ = false;
};

} // namespace aicache::cache
