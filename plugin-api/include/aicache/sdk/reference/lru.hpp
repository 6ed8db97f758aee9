// LRU: evict the entry whose last access is oldest.
//
// The reference Lru: the built-in `lru` plugin exports this class, and a policy patch may run it
// beside its own code (the `history` template's `classical` experts).
#pragma once

#include <aicache/sdk/policy.hpp>
#include <aicache/sdk/keyed_list.hpp>

#include <optional>

namespace aicache::sdk::reference {

class Lru {
public:
    static constexpr const char *state_format = "lru/1";

    explicit Lru(const aicache::sdk::Config &) {}

    void on_insert(const aicache_entry_meta &meta) {
        auto i = list_.find(meta.key);
        if (i != List::npos) list_.move_to_front(i);
        else list_.push_front(meta.key, {});
    }
    void on_hit(const aicache_entry_meta &meta) {
        auto i = list_.find(meta.key);
        if (i != List::npos) list_.move_to_front(i);
    }
    void on_remove(uint64_t key) {
        auto i = list_.find(key);
        if (i != List::npos) list_.erase(i);
    }
    std::optional<uint64_t> victim() {
        if (list_.empty()) return std::nullopt;
        auto i = list_.back();
        uint64_t key = list_.node(i).key;
        list_.erase(i);
        return key;
    }

    // Oldest first, so loading is a sequence of push_front calls.
    void save_state(aicache::sdk::StateWriter &out) const {
        out.u64(list_.size());
        for (auto i = list_.back(); i != List::npos; i = list_.newer(i)) out.u64(list_.node(i).key);
    }
    void load_state(aicache::sdk::StateReader &in) {
        clear();
        for (uint64_t n = in.count(8); n > 0; --n) {
            uint64_t key = in.u64();
            if (list_.contains(key)) throw aicache::sdk::state_format_error("lru state: duplicate key");
            list_.push_front(key, {});
        }
    }
    void clear() { list_.clear(); }
    void stats(std::string &json) const { json = "{\"entries\":" + std::to_string(list_.size()) + "}"; }

private:
    struct Empty {};
    using List = aicache::sdk::KeyedList<Empty>;
    List list_;
};

} // namespace aicache::sdk::reference
