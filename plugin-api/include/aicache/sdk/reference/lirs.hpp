// LIRS (Jiang & Zhang, SIGMETRICS'02): entries are ranked by inter-reference recency (how many
// other entries were touched between their last two accesses) instead of plain recency. Entries
// with a short reuse distance are LIR and hold ~99% of the cache; the rest are HIR, and only a
// small share of HIR entries stay resident, in a FIFO queue Q. The LIRS stack S keeps recency
// order for LIR entries, resident HIR entries and recently evicted HIR "ghosts"; an HIR entry
// that is reused while still in S has proven a short reuse distance and becomes LIR, demoting
// the LIR entry at the bottom of S. Loops and scans that defeat LRU do not displace LIR entries.
//
// The reference Lirs: the built-in `lirs` plugin exports this class, and a policy patch may run it
// beside its own code (the `history` template's `classical` experts).
#pragma once

#include <aicache/sdk/policy.hpp>
#include <aicache/sdk/keyed_list.hpp>

#include <algorithm>
#include <optional>

namespace aicache::sdk::reference {

class Lirs {
public:
    static constexpr const char *state_format = "lirs/1";

    explicit Lirs(const aicache::sdk::Config &config)
        : capacity_(config.unsigned_integer("capacity_bytes", 0)), hir_ratio_(config.number("hir_ratio", 0.01)),
          ghost_factor_(config.number("ghost_factor", 2.0)) {
        if (!(hir_ratio_ > 0 && hir_ratio_ < 1)) throw aicache::sdk::invalid_argument("lirs: hir_ratio must be in (0, 1)");
        if (!(ghost_factor_ >= 0 && ghost_factor_ <= 16)) throw aicache::sdk::invalid_argument("lirs: ghost_factor must be in [0, 16]");
    }

    void on_insert(const aicache_entry_meta &meta) {
        on_remove(meta.key);
        const uint64_t key = meta.key, size = std::max<uint64_t>(meta.size_bytes, 1);
        if (auto s = stack_.find(key); s != Stack::npos) {
            // A ghost reused while still in S: its reuse distance beats the bottom LIR entry's.
            ghosts_.erase(ghosts_.find(key));
            stack_.node(s).payload = {size, State::lir};
            stack_.move_to_front(s);
            lir_bytes_ += size;
            rebalance();
        } else if (lir_bytes_ + size <= lir_capacity()) {
            stack_.push_front(key, {size, State::lir}); // warming up: LIR until the LIR share is full
            lir_bytes_ += size;
        } else {
            stack_.push_front(key, {size, State::hir});
            queue_.push_front(key, size);
        }
    }
    void on_hit(const aicache_entry_meta &meta) {
        const uint64_t key = meta.key;
        auto s = stack_.find(key);
        if (s != Stack::npos && stack_.node(s).payload.state == State::lir) {
            bool was_bottom = s == stack_.back();
            stack_.move_to_front(s);
            if (was_bottom) prune();
            return;
        }
        auto q = queue_.find(key);
        if (q == Queue::npos) return; // not resident: not ours to count
        uint64_t size = queue_.node(q).payload;
        if (s != Stack::npos) {
            // Resident HIR reused while in S: promote, demote the bottom LIR entry.
            queue_.erase(q);
            stack_.node(s).payload.state = State::lir;
            stack_.move_to_front(s);
            lir_bytes_ += size;
            rebalance();
        } else {
            stack_.push_front(key, {size, State::hir});
            queue_.move_to_front(q);
        }
    }
    void on_remove(uint64_t key) {
        if (auto q = queue_.find(key); q != Queue::npos) queue_.erase(q);
        auto s = stack_.find(key);
        if (s == Stack::npos) return;
        const Entry e = stack_.node(s).payload;
        if (e.state == State::ghost) return; // not resident: the host cannot be removing it
        if (e.state == State::lir) lir_bytes_ -= e.size;
        bool was_bottom = s == stack_.back();
        stack_.erase(s);
        if (was_bottom) prune();
    }
    std::optional<uint64_t> victim() {
        if (!queue_.empty()) {
            auto q = queue_.back();
            uint64_t key = queue_.node(q).key;
            queue_.erase(q);
            if (auto s = stack_.find(key); s != Stack::npos) {
                stack_.node(s).payload.state = State::ghost;
                ghosts_.push_front(key, {});
                trim_ghosts();
            }
            return key;
        }
        // Only LIR entries are resident (the HIR share is empty): the bottom LIR entry goes. Prune
        // first: with no LIR entry at all, S may hold nothing but ghosts.
        prune();
        if (stack_.empty()) return std::nullopt;
        auto bottom = stack_.back();
        uint64_t key = stack_.node(bottom).key;
        lir_bytes_ -= stack_.node(bottom).payload.size;
        stack_.erase(bottom);
        prune();
        return key;
    }

    void save_state(aicache::sdk::StateWriter &out) const {
        out.u64(stack_.size());
        for (auto i = stack_.back(); i != Stack::npos; i = stack_.newer(i)) {
            out.u64(stack_.node(i).key);
            out.u64(stack_.node(i).payload.size);
            out.u8(static_cast<uint8_t>(stack_.node(i).payload.state));
        }
        out.u64(queue_.size());
        for (auto i = queue_.back(); i != Queue::npos; i = queue_.newer(i)) {
            out.u64(queue_.node(i).key);
            out.u64(queue_.node(i).payload);
        }
        out.u64(ghosts_.size());
        for (auto i = ghosts_.back(); i != Ghosts::npos; i = ghosts_.newer(i)) out.u64(ghosts_.node(i).key);
    }
    void load_state(aicache::sdk::StateReader &in) {
        clear();
        for (uint64_t n = in.count(17); n > 0; --n) {
            uint64_t key = in.u64(), size = in.u64();
            uint8_t state = in.u8();
            if (state > 2 || stack_.contains(key)) throw aicache::sdk::state_format_error("lirs state: bad stack entry");
            stack_.push_front(key, {size, static_cast<State>(state)});
            if (state == 0) lir_bytes_ += size;
        }
        for (uint64_t n = in.count(16); n > 0; --n) {
            uint64_t key = in.u64(), size = in.u64();
            if (queue_.contains(key)) throw aicache::sdk::state_format_error("lirs state: duplicate queue key");
            queue_.push_front(key, size);
        }
        for (uint64_t n = in.count(8); n > 0; --n) {
            uint64_t key = in.u64();
            auto s = stack_.find(key);
            if (s == Stack::npos || stack_.node(s).payload.state != State::ghost || ghosts_.contains(key))
                throw aicache::sdk::state_format_error("lirs state: a ghost that is not in the stack");
            ghosts_.push_front(key, {});
        }
    }
    void clear() {
        stack_.clear();
        queue_.clear();
        ghosts_.clear();
        lir_bytes_ = 0;
    }
    void stats(std::string &json) const {
        json = "{\"lir_bytes\":" + std::to_string(lir_bytes_) + ",\"stack\":" + std::to_string(stack_.size()) +
               ",\"hir_resident\":" + std::to_string(queue_.size()) + ",\"ghosts\":" + std::to_string(ghosts_.size()) + "}";
    }

private:
    enum class State : uint8_t { lir = 0, hir = 1, ghost = 2 };
    struct Entry {
        uint64_t size;
        State state;
    };
    struct Empty {};
    using Stack = aicache::sdk::KeyedList<Entry>;     // front = top (most recent)
    using Queue = aicache::sdk::KeyedList<uint64_t>;  // resident HIR, front = newest; payload: size
    using Ghosts = aicache::sdk::KeyedList<Empty>;    // ghosts in S, front = newest, to bound them

    // Without a configured capacity, the resident bytes stand in for it.
    [[nodiscard]] uint64_t lir_capacity() const {
        uint64_t capacity = capacity_ ? capacity_ : lir_bytes_ + 1;
        return static_cast<uint64_t>(double(capacity) * (1.0 - hir_ratio_));
    }
    // S's bottom is always an LIR entry: HIR entries below the last LIR one can never be promoted.
    void prune() {
        while (!stack_.empty() && stack_.node(stack_.back()).payload.state != State::lir) {
            auto bottom = stack_.back();
            if (stack_.node(bottom).payload.state == State::ghost) ghosts_.erase(ghosts_.find(stack_.node(bottom).key));
            stack_.erase(bottom);
        }
    }
    // Demote bottom LIR entries to resident HIR until the LIR share fits again.
    void rebalance() {
        while (lir_bytes_ > lir_capacity() && stack_.size() > 1) {
            auto bottom = stack_.back();
            if (stack_.node(bottom).payload.state != State::lir) {
                prune();
                continue;
            }
            uint64_t key = stack_.node(bottom).key, size = stack_.node(bottom).payload.size;
            stack_.erase(bottom);
            lir_bytes_ -= size;
            queue_.push_front(key, size);
            prune();
        }
    }
    void trim_ghosts() {
        const double limit = ghost_factor_ * double(std::max<size_t>(queue_.size() + (stack_.size() - ghosts_.size()), 1));
        while (!ghosts_.empty() && double(ghosts_.size()) > limit) {
            auto oldest = ghosts_.back();
            uint64_t key = ghosts_.node(oldest).key;
            ghosts_.erase(oldest);
            if (auto s = stack_.find(key); s != Stack::npos) stack_.erase(s);
        }
    }

    uint64_t capacity_;
    double hir_ratio_;
    double ghost_factor_;
    uint64_t lir_bytes_ = 0;
    Stack stack_;
    Queue queue_;
    Ghosts ghosts_;
};

} // namespace aicache::sdk::reference
