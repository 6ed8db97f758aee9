// The data plane's store: sharded, one policy instance per shard, exact lookup by a 64-bit key
// hash confirmed by full-key comparison. Each shard's mutex serializes its map and its policy
// instance, which is why policies need no locks of their own; a policy swap replaces each shard's
// instance under that same mutex, so no call can be in flight on the old code when it is destroyed.
#pragma once

#include "core/status.hpp"
#include "cache/record.hpp"
#include "loader/policy_instance.hpp"

#include <aicache/sdk/key_index.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace aicache::cache {

struct KeyView {
    uint64_t hash;         // hash_key(full)
    std::string_view full; // canonical key bytes
};

struct CacheConfig {
    uint64_t capacity_bytes = 64ull << 20;
    uint32_t shards = 16;
    // Extra policy parameters: a flat JSON object's text, e.g. {"small_ratio": 0.1} ("" or "{}": none).
    std::string policy_parameters;
};

struct InsertRequest {
    KeyView key;
    std::string_view value;  // the answer bytes, copied into the cache; empty for trace replays
    uint64_t size_bytes = 0; // 0: key + value bytes
    uint64_t cost = 0;
    uint32_t tenant = 0;
    uint64_t ttl_seconds = 0; // 0: ask the policy
};

// The configuration a policy instance is created with: its share of the capacity and the extra
// parameters (a JSON object's text, validated by whoever took it from a user), as one flat object.
std::string policy_config_json(uint64_t capacity_bytes, std::string_view parameters);

enum class InsertOutcome { stored, refused_by_policy, too_large, policy_error };
const char *to_string(InsertOutcome outcome) noexcept;

struct LookupResult {
    bool hit = false;
    RecordRef record; // keeps the answer readable even if it is evicted meanwhile
    [[nodiscard]] std::string_view value() const noexcept { return record.value(); }
    uint64_t size_bytes = 0;
    uint64_t cost = 0;
};

struct CacheStats {
    uint64_t lookups = 0, hits = 0, inserts = 0, evictions = 0, expirations = 0, refused = 0, policy_errors = 0;
    uint64_t bytes_hit = 0, bytes_inserted = 0;
    uint64_t cost_hit = 0, cost_offered = 0; // what hits saved, and what the answers offered for storing cost (a miss's price)
    uint64_t entries = 0, bytes_used = 0, capacity_bytes = 0;
    uint64_t warm_swaps = 0, cold_swaps = 0; // per shard: state carried over vs rebuilt from entries
};

class Cache {
public:
    static Expected<std::unique_ptr<Cache>> create(const CacheConfig &config,
                                                   std::shared_ptr<const loader::PluginLibrary> policy);
    ~Cache();

    LookupResult lookup(KeyView key, uint64_t now_us) noexcept;
    // The entry if resident, without counting a lookup or telling the policy (a look at a semantic
    // candidate's answer to judge it is not a use of the entry).
    LookupResult peek(KeyView key, uint64_t now_us) noexcept;
    // evicted (optional) receives the key hashes the policy evicted to make room, so a durable
    // tier can delete them too. It must have room reserved: the hot path does not allocate.
    InsertOutcome insert(const InsertRequest &request, uint64_t now_us, std::vector<uint64_t> *evicted = nullptr) noexcept;
    bool erase(KeyView key) noexcept;

    // Replaces every shard's policy instance. Warm state moves over when both versions declare the
    // same state format; otherwise the new instance learns the resident entries oldest-access first.
    Status swap_policy(std::shared_ptr<const loader::PluginLibrary> policy);
    // The same on some shards only: a canary runs a new policy on a share of the traffic. With
    // `parameters` (as CacheConfig::policy_parameters) the shards take those from now on; without,
    // each keeps its own.
    Status swap_policy_on(const std::vector<uint32_t> &shards, std::shared_ptr<const loader::PluginLibrary> policy,
                          const std::optional<std::string> &parameters = std::nullopt);
    [[nodiscard]] std::string shard_parameters(uint32_t shard) const;

    [[nodiscard]] CacheStats stats() const;
    [[nodiscard]] CacheStats shard_stats(uint32_t shard) const;
    [[nodiscard]] std::shared_ptr<const loader::PluginLibrary> shard_policy(uint32_t shard) const;
    [[nodiscard]] std::shared_ptr<const loader::PluginLibrary> policy() const;
    [[nodiscard]] uint32_t shard_count() const noexcept { return static_cast<uint32_t>(shards_.size()); }

private:
    // Key hash -> record. Each stored pointer owns one reference to its record.
    using Index = sdk::BasicKeyIndex<Record *, nullptr>;
    struct alignas(64) Shard {
        mutable std::mutex mutex;
        Index index;
        loader::PolicyInstance policy;
        uint64_t capacity_bytes = 0;
        uint64_t bytes_used = 0;
        std::string parameters; // the policy instance's parameters (config members besides the capacity)
        CacheStats counters;    // per-shard counts, summed by stats()
    };

    explicit Cache(const CacheConfig &config);
    void release_all() noexcept;
    static void add_counters(CacheStats &total, const Shard &shard);
    Shard &shard_for(uint64_t hash) noexcept { return *shards_[(hash >> 32) % shards_.size()]; }
    static void remove_locked(Shard &shard, Record *record) noexcept;
    Status migrate_locked(Shard &shard, loader::PolicyInstance &next);

    CacheConfig config_;
    std::vector<std::unique_ptr<Shard>> shards_;
};

} // namespace aicache::cache
