// Keys grouped by access frequency, each group a recency list: the least-frequently-used key
// (oldest among equals) is found at once. The core of LFU, and the LFU expert of LeCaR.
#pragma once

#include <aicache/sdk/key_index.hpp>
#include <aicache/sdk/keyed_list.hpp>

#include <cstdint>
#include <map>
#include <optional>

namespace aicache::sdk {

class FrequencyBuckets {
public:
    static constexpr uint32_t absent = aicache::sdk::KeyIndex::npos;

    [[nodiscard]] uint32_t frequency(uint64_t key) const { return frequency_.find(key); }
    [[nodiscard]] size_t size() const { return frequency_.size(); }
    [[nodiscard]] bool empty() const { return frequency_.empty(); }

    void add(uint64_t key, uint32_t f) {
        buckets_[f].push_front(key, {});
        frequency_.set(key, f);
    }
    void remove(uint64_t key) {
        uint32_t f = frequency_.find(key);
        if (f == absent) return;
        auto bucket = buckets_.find(f);
        bucket->second.erase(bucket->second.find(key));
        if (bucket->second.empty()) buckets_.erase(bucket);
        frequency_.erase(key);
    }
    void touch(uint64_t key) {
        uint32_t f = frequency_.find(key);
        if (f == absent) return;
        remove(key);
        add(key, f + 1);
    }
    // The least frequently used key, oldest among equals; nullopt when empty.
    [[nodiscard]] std::optional<uint64_t> coldest() const {
        if (buckets_.empty()) return std::nullopt;
        const auto &list = buckets_.begin()->second;
        return list.node(list.back()).key;
    }
    // Visits (key, frequency) lowest frequency first, oldest first within one.
    template <class Fn>
    void for_each(Fn &&fn) const {
        for (const auto &[f, list] : buckets_)
            for (auto i = list.back(); i != List::npos; i = list.newer(i)) fn(list.node(i).key, f);
    }
    [[nodiscard]] size_t distinct_frequencies() const { return buckets_.size(); }
    void clear() {
        buckets_.clear();
        frequency_.clear();
    }

private:
    struct Empty {};
    using List = KeyedList<Empty>;
    std::map<uint32_t, List> buckets_;
    aicache::sdk::KeyIndex frequency_;
};

} // namespace aicache::sdk
