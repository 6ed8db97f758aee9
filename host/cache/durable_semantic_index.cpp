#include "cache/durable_semantic_index.hpp"

#include "core/log.hpp"

#include <algorithm>

namespace aicache::cache {

Expected<std::unique_ptr<DurableSemanticIndex>> DurableSemanticIndex::open(store::Database &db, std::filesystem::path snapshot_dir, size_t dim,
                                                                           std::string model) {
    std::unique_ptr<DurableSemanticIndex> self(new DurableSemanticIndex(db, std::move(snapshot_dir), std::move(model)));
    auto generation = self->vectors_.generation();
    if (!generation) return generation.error();
    if (Status listed = self->vectors_.entries(self->model_, [&](store::SemanticVectors::Entry e) { self->remember_entry_locked(e); }); !listed)
        return listed;
    auto loaded = SemanticIndex::load(self->snapshot_dir_, dim, self->tag(*generation));
    if (loaded) {
        self->index_ = std::move(*loaded);
        return self;
    }
    // No snapshot, a stale one, or a damaged one: the stored vectors are the truth.
    spdlog::info("semantic index: rebuilding from the store ({})", loaded.error().message());
    self->index_ = std::make_unique<SemanticIndex>(dim);
    self->rebuilt_ = true;
    Status added = Status::ok();
    Status visited = self->vectors_.for_each(self->model_, [&](uint64_t scope, uint64_t key, std::span<const float> v) {
        if (added) added = self->index_->add(scope, key, v);
    });
    if (!visited) return visited;
    if (!added) return added.with_context("rebuilding the semantic index");
    return self;
}

void DurableSemanticIndex::remember_entry_locked(const store::SemanticVectors::Entry &e) {
    if (e.alias_of != 0) {
        auto &keys = aliases_[e.alias_of];
        if (std::find(keys.begin(), keys.end(), e.key) == keys.end()) keys.push_back(e.key);
    }
    entries_[e.key] = e;
}

size_t DurableSemanticIndex::alias_count(uint64_t key) const {
    std::shared_lock entries(entries_mutex_);
    auto it = aliases_.find(key);
    return it == aliases_.end() ? 0 : it->second.size();
}

Status DurableSemanticIndex::add(uint64_t scope, uint64_t key, std::span<const float> vector, const std::string &question,
                                 const std::string &canonical_key, uint64_t alias_of) {
    if (vector.size() != index_->dim())
        return Status(Errc::invalid_argument, "semantic index: a vector of " + std::to_string(vector.size()) + " values, the index holds " +
                                                  std::to_string(index_->dim()));
    std::lock_guard lock(write_mutex_);
    store::SemanticVectors::Entry e{scope, key, question, canonical_key, alias_of};
    if (Status stored = vectors_.put(e, vector, model_); !stored) return stored;
    {
        std::unique_lock entries(entries_mutex_);
        remember_entry_locked(e);
    }
    return index_->add(scope, key, vector);
}

Expected<std::vector<store::SemanticVectors::Entry>> DurableSemanticIndex::stale_entries() {
    std::vector<store::SemanticVectors::Entry> stale;
    if (Status listed = vectors_.stale_entries(model_, [&](store::SemanticVectors::Entry e) { stale.push_back(std::move(e)); }); !listed)
        return listed;
    return stale;
}

Status DurableSemanticIndex::add_many(const std::vector<store::SemanticVectors::Entry> &entries, const std::vector<std::vector<float>> &vectors) {
    for (const auto &v : vectors)
        if (v.size() != index_->dim())
            return Status(Errc::invalid_argument, "semantic index: a vector of " + std::to_string(v.size()) + " values, the index holds " +
                                                      std::to_string(index_->dim()));
    std::lock_guard lock(write_mutex_);
    if (Status stored = vectors_.put_many(entries, vectors, model_); !stored) return stored;
    {
        std::unique_lock guard(entries_mutex_);
        for (const auto &e : entries) remember_entry_locked(e);
    }
    for (size_t i = 0; i < entries.size(); ++i)
        if (Status added = index_->add(entries[i].scope, entries[i].key, vectors[i]); !added) return added;
    return Status::ok();
}

Status DurableSemanticIndex::remove(uint64_t scope, uint64_t key) {
    std::lock_guard lock(write_mutex_);
    if (Status stored = vectors_.remove(scope, key); !stored) return stored;
    std::vector<uint64_t> gone{key};
    {
        std::unique_lock entries(entries_mutex_);
        if (auto it = aliases_.find(key); it != aliases_.end()) {
            gone.insert(gone.end(), it->second.begin(), it->second.end());
            aliases_.erase(it);
        }
        if (auto it = entries_.find(key); it != entries_.end() && it->second.alias_of != 0) {
            auto &siblings = aliases_[it->second.alias_of];
            siblings.erase(std::remove(siblings.begin(), siblings.end(), key), siblings.end());
        }
        for (uint64_t k : gone) entries_.erase(k);
    }
    for (uint64_t k : gone) index_->remove(scope, k);
    return Status::ok();
}

std::optional<store::SemanticVectors::Entry> DurableSemanticIndex::entry(uint64_t key) const {
    std::shared_lock entries(entries_mutex_);
    auto it = entries_.find(key);
    if (it == entries_.end()) return std::nullopt;
    return it->second;
}

Status DurableSemanticIndex::snapshot() {
    std::lock_guard lock(write_mutex_);
    auto generation = vectors_.generation();
    if (!generation) return generation.error();
    return index_->save(snapshot_dir_, tag(*generation));
}

} // namespace aicache::cache
