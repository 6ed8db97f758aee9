// The durable side of the semantic index: every cached question's embedding, by scope and key,
// with the model that made it, and a generation number that every change bumps in the same
// transaction. An index snapshot records the generation it was taken at; one that does not match
// is stale (a crash after a write, or a copy from elsewhere) and the index is rebuilt from here.
#pragma once

#include "core/status.hpp"
#include "store/database.hpp"

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace aicache::store {

class SemanticVectors {
public:
    explicit SemanticVectors(Database &db) : db_(db) {}

    struct Entry {
        uint64_t scope = 0, key = 0;
        std::string question, canonical_key;
        uint64_t alias_of = 0; // the entry this row is a verified paraphrase of; 0: an entry itself
    };

    Status put(const Entry &entry, std::span<const float> vector, const std::string &model);
    // Several vectors of one model in one transaction (re-embedding after a model change).
    Status put_many(const std::vector<Entry> &entries, const std::vector<std::vector<float>> &vectors, const std::string &model);
    // Removes the key and every alias of it.
    Status remove(uint64_t scope, uint64_t key);
    Expected<uint64_t> generation();
    Expected<uint64_t> count();
    // Every vector made by `model`, in no particular order; vectors of other models are skipped
    // (embeddings of two models do not compare).
    Status for_each(const std::string &model, const std::function<void(uint64_t scope, uint64_t key, std::span<const float>)> &visit);
    // The question and canonical key of every vector of `model`, without the vectors.
    Status entries(const std::string &model, const std::function<void(Entry)> &visit);
    // The same for every vector made by another model than `model`: questions to embed again.
    Status stale_entries(const std::string &model, const std::function<void(Entry)> &visit);

private:
    Status bump_locked();
    Database &db_;
};

} // namespace aicache::store
