// ARC (Megiddo & Modha, FAST'03): two resident lists, T1 (seen once recently) and T2 (seen at
// least twice), and two ghost lists of keys recently evicted from each, B1 and B2. A miss whose
// key is in B1 says T1 was too small, one in B2 that T2 was: the target size p of T1 moves
// accordingly, and evictions take T1's oldest entry while T1 is over p, else T2's.
//
// The reference Arc: the built-in `arc` plugin exports this class, and a policy patch may run it
// beside its own code (the `history` template's `classical` experts).
#pragma once

#include <aicache/sdk/policy.hpp>
#include <aicache/sdk/sized_list.hpp>

#include <algorithm>
#include <optional>

namespace aicache::sdk::reference {

class Arc {
public:
    static constexpr const char *state_format = "arc/1";

    explicit Arc(const aicache::sdk::Config &config) : capacity_(config.unsigned_integer("capacity_bytes", 0)) {}

    void on_insert(const aicache_entry_meta &meta) {
        const uint64_t key = meta.key, size = std::max<uint64_t>(meta.size_bytes, 1);
        on_remove(key);
        if (auto g = b1_.list.find(key); g != List::npos) {
            // Case II: a recent one-timer came back; T1 deserves more room.
            double ratio = std::max(1.0, double(b2_.list.size()) / double(std::max<size_t>(b1_.list.size(), 1)));
            p_ = std::min<double>(double(capacity()), p_ + ratio * double(size));
            b1_.erase(g);
            t2_.push(key, size);
        } else if (auto h = b2_.list.find(key); h != List::npos) {
            // Case III: a frequent one came back; T2 deserves more room.
            double ratio = std::max(1.0, double(b1_.list.size()) / double(std::max<size_t>(b2_.list.size(), 1)));
            p_ = std::max(0.0, p_ - ratio * double(size));
            b2_.erase(h);
            t2_.push(key, size);
        } else {
            t1_.push(key, size); // Case IV: new
        }
        trim_ghosts();
    }
    void on_hit(const aicache_entry_meta &meta) {
        // Case I: any hit makes the entry frequent.
        if (auto i = t1_.list.find(meta.key); i != List::npos) {
            uint64_t size = t1_.list.node(i).payload;
            t1_.erase(i);
            t2_.push(meta.key, size);
        } else if (auto j = t2_.list.find(meta.key); j != List::npos) {
            t2_.list.move_to_front(j);
        }
    }
    void on_remove(uint64_t key) {
        if (auto i = t1_.list.find(key); i != List::npos) t1_.erase(i);
        else if (auto j = t2_.list.find(key); j != List::npos) t2_.erase(j);
    }
    // REPLACE: evict from T1 while it holds more than its target p, else from T2; the evicted
    // key goes to the matching ghost list.
    std::optional<uint64_t> victim() {
        if (t1_.list.empty() && t2_.list.empty()) return std::nullopt;
        bool from_t1 = !t1_.list.empty() && (double(t1_.bytes) > p_ || t2_.list.empty());
        Lists &from = from_t1 ? t1_ : t2_;
        Lists &ghost = from_t1 ? b1_ : b2_;
        auto i = from.list.back();
        uint64_t key = from.list.node(i).key, size = from.list.node(i).payload;
        from.erase(i);
        ghost.push(key, size);
        trim_ghosts();
        return key;
    }

    void save_state(aicache::sdk::StateWriter &out) const {
        out.u64(static_cast<uint64_t>(p_));
        for (const Lists *l : {&t1_, &t2_, &b1_, &b2_}) {
            out.u64(l->list.size());
            for (auto i = l->list.back(); i != List::npos; i = l->list.newer(i)) {
                out.u64(l->list.node(i).key);
                out.u64(l->list.node(i).payload);
            }
        }
    }
    void load_state(aicache::sdk::StateReader &in) {
        clear();
        p_ = double(in.u64());
        for (Lists *l : {&t1_, &t2_, &b1_, &b2_}) {
            for (uint64_t n = in.count(16); n > 0; --n) {
                uint64_t key = in.u64(), size = in.u64();
                if (t1_.list.contains(key) || t2_.list.contains(key) || b1_.list.contains(key) || b2_.list.contains(key))
                    throw aicache::sdk::state_format_error("arc state: a key in two lists");
                l->push(key, size);
            }
        }
    }
    void clear() {
        for (Lists *l : {&t1_, &t2_, &b1_, &b2_}) l->clear();
        p_ = 0;
    }
    void stats(std::string &json) const {
        json = "{\"p_bytes\":" + std::to_string(static_cast<uint64_t>(p_)) + ",\"t1_bytes\":" + std::to_string(t1_.bytes) +
               ",\"t2_bytes\":" + std::to_string(t2_.bytes) + ",\"b1_entries\":" + std::to_string(b1_.list.size()) +
               ",\"b2_entries\":" + std::to_string(b2_.list.size()) + "}";
    }

private:
    using Lists = aicache::sdk::SizedList;
    using List = Lists::List;

    // Without a configured capacity, the resident bytes stand in for it.
    [[nodiscard]] uint64_t capacity() const { return capacity_ ? capacity_ : std::max<uint64_t>(t1_.bytes + t2_.bytes, 1); }

    // The directory stays within 2c: T1 + B1 <= c, and all four lists <= 2c.
    void trim_ghosts() {
        const uint64_t c = capacity();
        while (!b1_.list.empty() && t1_.bytes + b1_.bytes > c) b1_.pop_oldest();
        while (!b2_.list.empty() && t1_.bytes + t2_.bytes + b1_.bytes + b2_.bytes > 2 * c) b2_.pop_oldest();
    }

    uint64_t capacity_;
    double p_ = 0; // target bytes of T1
    Lists t1_, t2_, b1_, b2_;
};

} // namespace aicache::sdk::reference
