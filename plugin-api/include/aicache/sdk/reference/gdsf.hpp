// GDSF (Greedy-Dual-Size-Frequency; Cherkasova, HP Labs 1998; Jin & Bestavros 2000): each entry
// gets priority H = L + F x C / S (F its frequency, C what a miss costs, S its size) and the entry
// with the lowest H leaves; L, the "inflation", becomes the evicted H, so entries that stop being
// read age relative to new ones. For LLM answers C is the answer's tokens, not its bytes: an
// expensive answer stays even when it is large.
//
// The reference Gdsf: the built-in `gdsf` plugin exports this class, and a policy patch may run it
// beside its own code (the `history` template's `classical` experts).
#pragma once

#include <aicache/sdk/policy.hpp>

#include <algorithm>
#include <optional>
#include <set>
#include <unordered_map>

namespace aicache::sdk::reference {

class Gdsf {
public:
    static constexpr const char *state_format = "gdsf/1";

    explicit Gdsf(const aicache::sdk::Config &config) : cost_weight_(config.number("cost_weight", 1.0)) {
        if (!(cost_weight_ >= 0.0 && cost_weight_ <= 1.0))
            throw aicache::sdk::invalid_argument("gdsf: cost_weight must be in [0, 1] (0 = GDS by size only, 1 = by token cost)");
    }

    void on_insert(const aicache_entry_meta &meta) {
        on_remove(meta.key);
        Entry e{1, cost_of(meta), std::max<uint64_t>(meta.size_bytes, 1), 0, ++sequence_};
        e.priority = priority(e);
        order_.insert({e.priority, e.sequence, meta.key});
        entries_.emplace(meta.key, e);
    }
    void on_hit(const aicache_entry_meta &meta) {
        auto it = entries_.find(meta.key);
        if (it == entries_.end()) return;
        Entry &e = it->second;
        order_.erase({e.priority, e.sequence, meta.key});
        ++e.frequency;
        e.sequence = ++sequence_;
        e.priority = priority(e);
        order_.insert({e.priority, e.sequence, meta.key});
    }
    void on_remove(uint64_t key) {
        auto it = entries_.find(key);
        if (it == entries_.end()) return;
        order_.erase({it->second.priority, it->second.sequence, key});
        entries_.erase(it);
    }
    std::optional<uint64_t> victim() {
        if (order_.empty()) return std::nullopt;
        auto lowest = order_.begin();
        auto [h, sequence, key] = *lowest;
        inflation_ = h;
        order_.erase(lowest);
        entries_.erase(key);
        return key;
    }

    void save_state(aicache::sdk::StateWriter &out) const {
        out.u64(static_cast<uint64_t>(inflation_ * 1e6));
        out.u64(entries_.size());
        for (const auto &[h, sequence, key] : order_) {
            const Entry &e = entries_.at(key);
            out.u64(key);
            out.u64(e.frequency);
            out.u64(e.cost);
            out.u64(e.size);
            out.u64(static_cast<uint64_t>(e.priority * 1e6));
        }
    }
    void load_state(aicache::sdk::StateReader &in) {
        clear();
        inflation_ = double(in.u64()) / 1e6;
        for (uint64_t n = in.count(40); n > 0; --n) {
            uint64_t key = in.u64();
            Entry e{in.u64(), in.u64(), in.u64(), 0, ++sequence_};
            e.priority = double(in.u64()) / 1e6;
            if (e.frequency == 0 || e.size == 0 || entries_.count(key)) throw aicache::sdk::state_format_error("gdsf state: bad entry");
            order_.insert({e.priority, e.sequence, key});
            entries_.emplace(key, e);
        }
    }
    void clear() {
        order_.clear();
        entries_.clear();
        inflation_ = 0;
    }
    void stats(std::string &json) const {
        json = "{\"entries\":" + std::to_string(entries_.size()) + ",\"inflation\":" + std::to_string(inflation_) + "}";
    }

private:
    struct Entry {
        uint64_t frequency, cost, size;
        double priority;
        uint64_t sequence; // breaks ties: older first
    };
    // cost_weight blends token cost with plain size-awareness (GDS with C = 1).
    uint64_t cost_of(const aicache_entry_meta &meta) const {
        double cost = cost_weight_ * double(std::max<uint64_t>(meta.cost, 1)) + (1.0 - cost_weight_) * 1.0;
        return static_cast<uint64_t>(std::max(1.0, cost * 1000.0)); // milli-cost, integral for the state
    }
    double priority(const Entry &e) const { return inflation_ + double(e.frequency) * double(e.cost) / double(e.size); }

    double cost_weight_;
    double inflation_ = 0;
    uint64_t sequence_ = 0;
    std::set<std::tuple<double, uint64_t, uint64_t>> order_; // (H, sequence, key), lowest first
    std::unordered_map<uint64_t, Entry> entries_;
};

} // namespace aicache::sdk::reference
