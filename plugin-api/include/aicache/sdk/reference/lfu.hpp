// LFU: evict the entry read the fewest times since it was inserted; among equals, the one
// touched longest ago. Entries sit in one recency list per frequency, in a map ordered by
// frequency: O(log F) per call, F the number of distinct frequencies (small in practice).
//
// The reference Lfu: the built-in `lfu` plugin exports this class, and a policy patch may run it
// beside its own code (the `history` template's `classical` experts).
#pragma once

#include <aicache/sdk/policy.hpp>
#include <aicache/sdk/frequency_buckets.hpp>

#include <optional>

namespace aicache::sdk::reference {


class Lfu {
public:
    static constexpr const char *state_format = "lfu/1";

    explicit Lfu(const aicache::sdk::Config &) {}

    void on_insert(const aicache_entry_meta &meta) {
        if (buckets_.frequency(meta.key) == FrequencyBuckets::absent) buckets_.add(meta.key, 1);
    }
    void on_hit(const aicache_entry_meta &meta) { buckets_.touch(meta.key); }
    void on_remove(uint64_t key) { buckets_.remove(key); }
    std::optional<uint64_t> victim() {
        auto key = buckets_.coldest();
        if (key) buckets_.remove(*key);
        return key;
    }

    void save_state(aicache::sdk::StateWriter &out) const {
        out.u64(buckets_.size());
        buckets_.for_each([&](uint64_t key, uint32_t f) {
            out.u64(key);
            out.u32(f);
        });
    }
    void load_state(aicache::sdk::StateReader &in) {
        clear();
        for (uint64_t n = in.count(12); n > 0; --n) {
            uint64_t key = in.u64();
            uint32_t f = in.u32();
            if (f == 0 || f == FrequencyBuckets::absent || buckets_.frequency(key) != FrequencyBuckets::absent)
                throw aicache::sdk::state_format_error("lfu state: bad frequency or duplicate key");
            buckets_.add(key, f);
        }
    }
    void clear() { buckets_.clear(); }
    void stats(std::string &json) const {
        json = "{\"entries\":" + std::to_string(buckets_.size()) + ",\"frequencies\":" + std::to_string(buckets_.distinct_frequencies()) + "}";
    }

private:
    FrequencyBuckets buckets_;
};

} // namespace aicache::sdk::reference
