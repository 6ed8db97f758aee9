// LeCaR (Vietri et al., HotStorage'18): two experts, LRU and LFU, each proposing a victim; the
// cache evicts LRU's proposal with probability w_lru, LFU's otherwise, and remembers the evicted
// key in that expert's history. A miss on a remembered key is regret: the expert that evicted
// it loses weight, w *= exp(-lambda * d^age), d = 0.005^(1/N), so recent mistakes count most.
//
// The reference LeCaR: the built-in `lecar` plugin exports this class, and a policy patch may run it
// beside its own code (the `history` template's `classical` experts).
#pragma once

#include <aicache/sdk/policy.hpp>
#include <aicache/sdk/frequency_buckets.hpp>
#include <aicache/sdk/keyed_list.hpp>

#include <algorithm>
#include <cmath>
#include <optional>

namespace aicache::sdk::reference {


class LeCaR {
public:
    static constexpr const char *state_format = "lecar/1";

    explicit LeCaR(const aicache::sdk::Config &config)
        : learning_rate_(config.number("learning_rate", 0.45)), seed_(config.unsigned_integer("seed", 42)) {
        if (!(learning_rate_ > 0 && learning_rate_ < 10)) throw aicache::sdk::invalid_argument("lecar: learning_rate must be in (0, 10)");
    }

    void on_insert(const aicache_entry_meta &meta) {
        ++time_;
        on_remove(meta.key);
        uint32_t frequency = 1;
        // A key the cache evicted recently came back: whoever evicted it was wrong.
        if (auto i = lru_history_.find(meta.key); i != History::npos) {
            frequency = lru_history_.node(i).payload.frequency + 1;
            regret(w_lru_, lru_history_.node(i).payload.time);
            lru_history_.erase(i);
        } else if (auto j = lfu_history_.find(meta.key); j != History::npos) {
            frequency = lfu_history_.node(j).payload.frequency + 1;
            regret(w_lfu_, lfu_history_.node(j).payload.time);
            lfu_history_.erase(j);
        }
        recency_.push_front(meta.key, {});
        frequency_.add(meta.key, frequency);
    }
    void on_hit(const aicache_entry_meta &meta) {
        ++time_;
        if (auto i = recency_.find(meta.key); i != Recency::npos) recency_.move_to_front(i);
        frequency_.touch(meta.key);
    }
    void on_remove(uint64_t key) {
        if (auto i = recency_.find(key); i != Recency::npos) recency_.erase(i);
        frequency_.remove(key);
    }
    std::optional<uint64_t> victim() {
        if (recency_.empty()) return std::nullopt;
        uint64_t lru_choice = recency_.node(recency_.back()).key;
        uint64_t lfu_choice = *frequency_.coldest();
        bool use_lru = draw() < w_lru_;
        uint64_t key = use_lru ? lru_choice : lfu_choice;
        uint32_t frequency = frequency_.frequency(key);
        on_remove(key);
        // Both experts agreeing is no evidence about either: history only records real choices.
        History &history = use_lru ? lru_history_ : lfu_history_;
        history.push_front(key, Remembered{time_, frequency});
        const size_t limit = std::max<size_t>(recency_.size(), 1);
        while (history.size() > limit) history.erase(history.back());
        return key;
    }

    void save_state(aicache::sdk::StateWriter &out) const {
        out.u64(time_);
        out.u64(draws_);
        out.u64(static_cast<uint64_t>(w_lru_ * 1e9));
        out.u64(recency_.size());
        for (auto i = recency_.back(); i != Recency::npos; i = recency_.newer(i)) {
            out.u64(recency_.node(i).key);
            out.u32(frequency_.frequency(recency_.node(i).key));
        }
        for (const History *h : {&lru_history_, &lfu_history_}) {
            out.u64(h->size());
            for (auto i = h->back(); i != History::npos; i = h->newer(i)) {
                out.u64(h->node(i).key);
                out.u64(h->node(i).payload.time);
                out.u32(h->node(i).payload.frequency);
            }
        }
    }
    void load_state(aicache::sdk::StateReader &in) {
        clear();
        time_ = in.u64();
        draws_ = in.u64();
        w_lru_ = std::clamp(double(in.u64()) / 1e9, 0.0, 1.0);
        w_lfu_ = 1.0 - w_lru_;
        for (uint64_t n = in.count(12); n > 0; --n) {
            uint64_t key = in.u64();
            uint32_t frequency = in.u32();
            if (recency_.contains(key) || frequency == 0 || frequency == FrequencyBuckets::absent)
                throw aicache::sdk::state_format_error("lecar state: duplicate key or bad frequency");
            recency_.push_front(key, {});
            frequency_.add(key, frequency);
        }
        for (History *h : {&lru_history_, &lfu_history_}) {
            for (uint64_t n = in.count(20); n > 0; --n) {
                uint64_t key = in.u64(), time = in.u64();
                uint32_t frequency = in.u32();
                if (h->contains(key)) throw aicache::sdk::state_format_error("lecar state: duplicate history key");
                h->push_front(key, Remembered{time, frequency});
            }
        }
    }
    void clear() {
        recency_.clear();
        frequency_.clear();
        lru_history_.clear();
        lfu_history_.clear();
        w_lru_ = w_lfu_ = 0.5;
        time_ = draws_ = 0;
    }
    void stats(std::string &json) const {
        json = "{\"entries\":" + std::to_string(recency_.size()) + ",\"w_lru\":" + std::to_string(w_lru_) +
               ",\"w_lfu\":" + std::to_string(w_lfu_) + "}";
    }

private:
    struct Empty {};
    struct Remembered {
        uint64_t time;      // when it was evicted
        uint32_t frequency; // its frequency then, restored if it returns
    };
    using Recency = aicache::sdk::KeyedList<Empty>;
    using History = aicache::sdk::KeyedList<Remembered>;

    void regret(double &weight, uint64_t evicted_at) {
        const double n = double(std::max<size_t>(recency_.size(), 1));
        const double discount = std::pow(0.005, 1.0 / n);
        weight *= std::exp(-learning_rate_ * std::pow(discount, double(time_ - evicted_at)));
        double total = w_lru_ + w_lfu_;
        w_lru_ /= total;
        w_lfu_ /= total;
    }
    // A deterministic stream of uniforms in [0, 1) (splitmix64 of seed + counter), so replays
    // repeat exactly and the stream position is part of the saved state.
    double draw() {
        uint64_t z = seed_ + 0x9E3779B97F4A7C15ull * ++draws_;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        return double(z >> 11) * 0x1.0p-53;
    }

    double learning_rate_;
    uint64_t seed_;
    double w_lru_ = 0.5, w_lfu_ = 0.5;
    uint64_t time_ = 0, draws_ = 0;
    Recency recency_;
    FrequencyBuckets frequency_;
    History lru_history_, lfu_history_;
};

} // namespace aicache::sdk::reference
