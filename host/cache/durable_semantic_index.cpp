#include "cache/durable_semantic_index.hpp"

#include "core/log.hpp"

namespace aicache::cache {

Expected<std::unique_ptr<DurableSemanticIndex>> DurableSemanticIndex::open(store::Database &db, std::filesystem::path snapshot_dir, size_t dim,
                                                                           std::string model) {
    std::unique_ptr<DurableSemanticIndex> self(new DurableSemanticIndex(db, std::move(snapshot_dir), std::move(model)));
    auto generation = self->vectors_.generation();
    if (!generation) return generation.error();
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

Status DurableSemanticIndex::add(uint64_t scope, uint64_t key, std::span<const float> vector) {
    if (vector.size() != index_->dim())
        return Status(Errc::invalid_argument, "semantic index: a vector of " + std::to_string(vector.size()) + " values, the index holds " +
                                                  std::to_string(index_->dim()));
    std::lock_guard lock(write_mutex_);
    if (Status stored = vectors_.put(scope, key, vector, model_); !stored) return stored;
    return index_->add(scope, key, vector);
}

Status DurableSemanticIndex::remove(uint64_t scope, uint64_t key) {
    std::lock_guard lock(write_mutex_);
    if (Status stored = vectors_.remove(scope, key); !stored) return stored;
    index_->remove(scope, key);
    return Status::ok();
}

Status DurableSemanticIndex::snapshot() {
    std::lock_guard lock(write_mutex_);
    auto generation = vectors_.generation();
    if (!generation) return generation.error();
    return index_->save(snapshot_dir_, tag(*generation));
}

} // namespace aicache::cache
