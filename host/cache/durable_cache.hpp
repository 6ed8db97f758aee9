// The cache the data plane uses: the sharded in-memory cache (policy-driven, the hot path) over
// the durable SQLite tier. An answer is written to SQLite, together with the deletions of the
// entries its insertion evicted, before it counts as stored; at start the memory tier is rebuilt
// from SQLite. When the disk refuses writes the cache keeps serving what it has, stores nothing
// new, and says why.
#pragma once

#include "cache/cache.hpp"
#include "core/status.hpp"
#include "store/cache_store.hpp"

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

namespace aicache::cache {

struct Answer {
    std::string_view key;      // canonical key bytes
    uint64_t key_hash = 0;
    std::string_view value;    // the bytes to send on a hit
    std::string tenant;
    std::string kind;
    uint64_t cost = 0;
    uint64_t ttl_seconds = 0;  // 0: no expiry
};

enum class StoreResult { stored, refused, not_durable };

class DurableCache {
public:
    DurableCache(std::unique_ptr<Cache> memory, store::CacheStore &store) : memory_(std::move(memory)), store_(store) {}

    // Loads every unexpired stored answer into memory (oldest first); entries the capacity cannot
    // hold are evicted by the policy and deleted from SQLite.
    Status warm_start(uint64_t now_us);

    LookupResult lookup(KeyView key, uint64_t now_us) noexcept { return memory_->lookup(key, now_us); }
    LookupResult peek(KeyView key, uint64_t now_us) noexcept { return memory_->peek(key, now_us); }
    StoreResult store(const Answer &answer, uint64_t now_us);
    // Removes answers from both tiers (used by `clear`).
    Status remove(const std::vector<uint64_t> &key_hashes, const std::vector<std::string> &keys);

    Cache &memory() { return *memory_; }
    store::CacheStore &durable() { return store_; }
    // Empty while writes succeed; the reason of the last failed write otherwise.
    [[nodiscard]] std::string degraded_reason() const;
    // For a data directory that cannot be written at all: store nothing, say why, keep serving.
    void refuse_writes(std::string reason);

private:
    std::unique_ptr<Cache> memory_;
    store::CacheStore &store_;
    mutable std::mutex degraded_mutex_;
    std::string degraded_;
    bool refuse_writes_ = false; // set before serving starts, read-only afterwards
};

} // namespace aicache::cache
