// The replay engine's cache model: one partition, one thread, no answer bytes. It makes the same
// policy calls, in the same order, with the same metadata as cache::Cache with one shard (a test
// holds the two to identical hit counts for every policy), but keeps entries in a dense array
// indexed by key instead of allocating a record per answer and taking a lock per call. That is
// what lets a replay run several million requests a second, which the optimizers need: they run
// thousands of replays.
#pragma once

#include "core/status.hpp"
#include "loader/policy_instance.hpp"

#include <aicache/sdk/key_index.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace aicache::replay {

struct SimulatorCounters {
    uint64_t evictions = 0, expirations = 0, refused = 0, policy_errors = 0;
};

class Simulator {
public:
    // parameters: extra policy parameters (flat JSON members without braces), as CacheConfig's.
    static Expected<Simulator> create(std::shared_ptr<const loader::PluginLibrary> policy, uint64_t capacity,
                                      const std::string &parameters);

    // True on a hit (the policy saw on_hit); false on a miss, after dropping an expired entry.
    bool lookup(uint64_t key, uint64_t now_us) noexcept;
    // Stores the object after a miss: admission, evictions until it fits, TTL, on_insert.
    void insert(uint64_t key, uint64_t size, uint64_t cost, uint64_t now_us) noexcept;

    [[nodiscard]] const SimulatorCounters &counters() const noexcept { return counters_; }
    [[nodiscard]] size_t resident() const noexcept { return index_.size(); }

private:
    struct Entry {
        aicache_entry_meta meta;
        uint64_t expires_at_us;
    };
    Simulator() = default;
    void remove(uint32_t slot) noexcept;

    loader::PolicyInstance policy_;
    uint64_t capacity_ = 0;
    uint64_t used_ = 0;
    sdk::KeyIndex index_;        // key -> position in entries_
    std::vector<Entry> entries_; // dense: a removal moves the last entry into the hole
    SimulatorCounters counters_;
};

} // namespace aicache::replay
