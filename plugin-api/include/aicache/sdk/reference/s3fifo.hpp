// S3-FIFO (Yang et al., SOSP'23): three FIFO queues. New entries go to a small queue S; entries
// read at least `move_to_main_threshold` times while in S move to the main queue M, the others
// leave the cache and their keys are remembered in a ghost queue G. An entry whose key is in G
// is inserted straight into M. M is a FIFO with reinsertion: an entry with frequency > 0 is
// reinserted at the front with its frequency decremented. Frequencies saturate at 3 (2 bits).
//
// The reference S3Fifo: the built-in `s3fifo` plugin exports this class, and a policy patch may run it
// beside its own code (the `history` template's `classical` experts).
#pragma once

#include <aicache/sdk/policy.hpp>
#include <aicache/sdk/keyed_list.hpp>

#include <algorithm>
#include <optional>

namespace aicache::sdk::reference {

class S3Fifo {
public:
    static constexpr const char *state_format = "s3fifo/1";

    explicit S3Fifo(const aicache::sdk::Config &config)
        : capacity_bytes_(config.unsigned_integer("capacity_bytes", 0)),
          small_ratio_(config.number("small_ratio", 0.10)),
          ghost_ratio_(config.number("ghost_ratio", 0.90)),
          move_threshold_(static_cast<uint32_t>(config.unsigned_integer("move_to_main_threshold", 2))) {
        if (!(small_ratio_ > 0.0 && small_ratio_ < 1.0))
            throw aicache::sdk::invalid_argument("s3fifo: small_ratio must be in (0, 1)");
        if (!(ghost_ratio_ >= 0.0 && ghost_ratio_ <= 4.0))
            throw aicache::sdk::invalid_argument("s3fifo: ghost_ratio must be in [0, 4]");
        if (move_threshold_ < 1 || move_threshold_ > kMaxFrequency)
            throw aicache::sdk::invalid_argument("s3fifo: move_to_main_threshold must be 1..3");
    }

    void on_insert(const aicache_entry_meta &meta) {
        on_remove(meta.key); // a re-insert of a resident key starts over
        uint64_t size = std::max<uint64_t>(meta.size_bytes, 1);
        auto g = ghost_.find(meta.key);
        if (g != Ghost::npos) {
            ghost_bytes_ -= ghost_.node(g).payload;
            ghost_.erase(g);
            main_.push_front(meta.key, Object{size, 0});
            main_bytes_ += size;
        } else {
            small_.push_front(meta.key, Object{size, 0});
            small_bytes_ += size;
        }
    }
    void on_hit(const aicache_entry_meta &meta) {
        if (Object *o = find(meta.key)) o->frequency = std::min<uint32_t>(o->frequency + 1, kMaxFrequency);
    }
    void on_remove(uint64_t key) {
        if (auto i = small_.find(key); i != Queue::npos) {
            small_bytes_ -= small_.node(i).payload.size;
            small_.erase(i);
        } else if (auto j = main_.find(key); j != Queue::npos) {
            main_bytes_ -= main_.node(j).payload.size;
            main_.erase(j);
        }
    }
    std::optional<uint64_t> victim() {
        if (small_.empty() && main_.empty()) return std::nullopt;
        for (;;) {
            if (!small_.empty() && (small_bytes_ >= small_target() || main_.empty())) {
                auto i = small_.back();
                Object o = small_.node(i).payload;
                uint64_t key = small_.node(i).key;
                small_.erase(i);
                small_bytes_ -= o.size;
                if (o.frequency >= move_threshold_) {
                    main_.push_front(key, o);
                    main_bytes_ += o.size;
                    continue;
                }
                remember_ghost(key, o.size);
                return key;
            }
            auto i = main_.back();
            Object &o = main_.node(i).payload;
            if (o.frequency > 0) {
                --o.frequency;
                main_.move_to_front(i);
                continue;
            }
            uint64_t key = main_.node(i).key;
            main_bytes_ -= o.size;
            main_.erase(i);
            return key;
        }
    }

    void save_state(aicache::sdk::StateWriter &out) const {
        save_queue(out, small_);
        save_queue(out, main_);
        out.u64(ghost_.size());
        for (auto i = ghost_.back(); i != Ghost::npos; i = ghost_.newer(i)) {
            out.u64(ghost_.node(i).key);
            out.u64(ghost_.node(i).payload);
        }
    }
    void load_state(aicache::sdk::StateReader &in) {
        clear();
        small_bytes_ = load_queue(in, small_);
        main_bytes_ = load_queue(in, main_);
        for (uint64_t n = in.count(16); n > 0; --n) {
            uint64_t key = in.u64(), size = in.u64();
            if (ghost_.contains(key)) throw aicache::sdk::state_format_error("s3fifo state: duplicate ghost key");
            ghost_.push_front(key, size);
            ghost_bytes_ += size;
        }
    }
    void clear() {
        small_.clear();
        main_.clear();
        ghost_.clear();
        small_bytes_ = main_bytes_ = ghost_bytes_ = 0;
    }
    void stats(std::string &json) const {
        json = "{\"small_entries\":" + std::to_string(small_.size()) + ",\"small_bytes\":" + std::to_string(small_bytes_) +
               ",\"main_entries\":" + std::to_string(main_.size()) + ",\"main_bytes\":" + std::to_string(main_bytes_) +
               ",\"ghost_entries\":" + std::to_string(ghost_.size()) + "}";
    }

private:
    static constexpr uint32_t kMaxFrequency = 3;
    struct Object {
        uint64_t size;
        uint32_t frequency;
    };
    using Queue = aicache::sdk::KeyedList<Object>;
    using Ghost = aicache::sdk::KeyedList<uint64_t>; // payload: the evicted entry's size

    Object *find(uint64_t key) {
        if (auto i = small_.find(key); i != Queue::npos) return &small_.node(i).payload;
        if (auto j = main_.find(key); j != Queue::npos) return &main_.node(j).payload;
        return nullptr;
    }
    // Without a configured capacity, size S against what is resident.
    [[nodiscard]] double small_target() const {
        double capacity = capacity_bytes_ ? double(capacity_bytes_) : double(small_bytes_ + main_bytes_);
        return small_ratio_ * capacity;
    }
    void remember_ghost(uint64_t key, uint64_t size) {
        double limit = ghost_ratio_ * (capacity_bytes_ ? double(capacity_bytes_) : double(small_bytes_ + main_bytes_ + size));
        ghost_.push_front(key, size);
        ghost_bytes_ += size;
        while (!ghost_.empty() && double(ghost_bytes_) > limit) {
            auto oldest = ghost_.back();
            ghost_bytes_ -= ghost_.node(oldest).payload;
            ghost_.erase(oldest);
        }
    }
    static void save_queue(aicache::sdk::StateWriter &out, const Queue &q) {
        out.u64(q.size());
        for (auto i = q.back(); i != Queue::npos; i = q.newer(i)) {
            out.u64(q.node(i).key);
            out.u64(q.node(i).payload.size);
            out.u8(static_cast<uint8_t>(q.node(i).payload.frequency));
        }
    }
    uint64_t load_queue(aicache::sdk::StateReader &in, Queue &q) {
        uint64_t bytes = 0;
        for (uint64_t n = in.count(17); n > 0; --n) {
            uint64_t key = in.u64(), size = in.u64();
            uint32_t frequency = in.u8();
            if (frequency > kMaxFrequency || find(key) != nullptr)
                throw aicache::sdk::state_format_error("s3fifo state: bad frequency or duplicate key");
            q.push_front(key, Object{size, frequency});
            bytes += size;
        }
        return bytes;
    }

    uint64_t capacity_bytes_;
    double small_ratio_;
    double ghost_ratio_;
    uint32_t move_threshold_;
    Queue small_, main_;
    Ghost ghost_;
    uint64_t small_bytes_ = 0, main_bytes_ = 0, ghost_bytes_ = 0;
};

} // namespace aicache::sdk::reference
