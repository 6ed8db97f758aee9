// FIFO: evict the entry that was inserted first; hits change nothing.
//
// The reference Fifo: the built-in `fifo` plugin exports this class, and a policy patch may run it
// beside its own code (the `history` template's `classical` experts).
#pragma once

#include <aicache/sdk/policy.hpp>
#include <aicache/sdk/keyed_list.hpp>

#include <optional>

namespace aicache::sdk::reference {

class Fifo {
public:
    static constexpr const char *state_format = "fifo/1";

    explicit Fifo(const aicache::sdk::Config &) {}

    void on_insert(const aicache_entry_meta &meta) {
        if (!queue_.contains(meta.key)) queue_.push_front(meta.key, {});
    }
    void on_hit(const aicache_entry_meta &) {}
    void on_remove(uint64_t key) {
        auto i = queue_.find(key);
        if (i != Queue::npos) queue_.erase(i);
    }
    std::optional<uint64_t> victim() {
        if (queue_.empty()) return std::nullopt;
        auto i = queue_.back();
        uint64_t key = queue_.node(i).key;
        queue_.erase(i);
        return key;
    }

    void save_state(aicache::sdk::StateWriter &out) const {
        out.u64(queue_.size());
        for (auto i = queue_.back(); i != Queue::npos; i = queue_.newer(i)) out.u64(queue_.node(i).key);
    }
    void load_state(aicache::sdk::StateReader &in) {
        clear();
        for (uint64_t n = in.count(8); n > 0; --n) {
            uint64_t key = in.u64();
            if (queue_.contains(key)) throw aicache::sdk::state_format_error("fifo state: duplicate key");
            queue_.push_front(key, {});
        }
    }
    void clear() { queue_.clear(); }
    void stats(std::string &json) const { json = "{\"entries\":" + std::to_string(queue_.size()) + "}"; }

private:
    struct Empty {};
    using Queue = aicache::sdk::KeyedList<Empty>;
    Queue queue_;
};

} // namespace aicache::sdk::reference
