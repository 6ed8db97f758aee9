// SIEVE (Zhang et al., NSDI'24): a FIFO queue with one "visited" bit per entry and a hand that
// sweeps from the oldest entry toward the newest, clearing visited bits and evicting the first
// unvisited entry it meets. Hits never move entries, so a hit costs one store.
//
// The reference Sieve: the built-in `sieve` plugin exports this class, and a policy patch may run it
// beside its own code (the `history` template's `classical` experts).
#pragma once

#include <aicache/sdk/policy.hpp>
#include <aicache/sdk/keyed_list.hpp>

#include <optional>

namespace aicache::sdk::reference {

class Sieve {
public:
    static constexpr const char *state_format = "sieve/1";

    explicit Sieve(const aicache::sdk::Config &) {}

    void on_insert(const aicache_entry_meta &meta) {
        auto i = list_.find(meta.key);
        if (i != List::npos) list_.node(i).payload.visited = true;
        else list_.push_front(meta.key, Bits{false});
    }
    void on_hit(const aicache_entry_meta &meta) {
        auto i = list_.find(meta.key);
        if (i != List::npos) list_.node(i).payload.visited = true;
    }
    void on_remove(uint64_t key) {
        auto i = list_.find(key);
        if (i == List::npos) return;
        if (hand_ == i) hand_ = list_.newer(i);
        list_.erase(i);
    }
    std::optional<uint64_t> victim() {
        if (list_.empty()) return std::nullopt;
        auto i = hand_ != List::npos ? hand_ : list_.back();
        while (list_.node(i).payload.visited) {
            list_.node(i).payload.visited = false;
            i = list_.newer(i);
            if (i == List::npos) i = list_.back();
        }
        hand_ = list_.newer(i);
        uint64_t key = list_.node(i).key;
        list_.erase(i);
        return key;
    }

    // Oldest first: key, visited bit; then the hand as a position counted from the oldest entry.
    void save_state(aicache::sdk::StateWriter &out) const {
        out.u64(list_.size());
        uint64_t position = 0, hand_position = UINT64_MAX;
        for (auto i = list_.back(); i != List::npos; i = list_.newer(i), ++position) {
            out.u64(list_.node(i).key);
            out.u8(list_.node(i).payload.visited ? 1 : 0);
            if (i == hand_) hand_position = position;
        }
        out.u64(hand_position);
    }
    void load_state(aicache::sdk::StateReader &in) {
        clear();
        uint64_t n = in.count(9);
        std::vector<List::Index> by_position;
        by_position.reserve(n);
        for (uint64_t k = 0; k < n; ++k) {
            uint64_t key = in.u64();
            bool visited = in.u8() != 0;
            if (list_.contains(key)) throw aicache::sdk::state_format_error("sieve state: duplicate key");
            by_position.push_back(list_.push_front(key, Bits{visited}));
        }
        uint64_t hand_position = in.u64();
        if (hand_position != UINT64_MAX) {
            if (hand_position >= n) throw aicache::sdk::state_format_error("sieve state: hand out of range");
            hand_ = by_position[hand_position];
        }
    }
    void clear() {
        list_.clear();
        hand_ = List::npos;
    }
    void stats(std::string &json) const { json = "{\"entries\":" + std::to_string(list_.size()) + "}"; }

private:
    struct Bits {
        bool visited;
    };
    using List = aicache::sdk::KeyedList<Bits>;
    List list_;
    List::Index hand_ = List::npos; // next entry the sweep examines; npos = start at the oldest
};

} // namespace aicache::sdk::reference
