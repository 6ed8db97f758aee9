// An open-addressing hash index from 64-bit keys to 32-bit values (slot numbers). Policies keep
// one per queue to find an entry's node, and the host's cache keeps one per shard: both sit on
// the lookup path, where std::unordered_map's pointer chasing costs two cache misses a probe.
// Linear probing, Fibonacci hashing of the key, backward-shift deletion (no tombstones).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace aicache::sdk {

// Value: a trivially copyable value type; Empty: a value never stored, marking a free slot.
template <class Value, Value Empty>
class BasicKeyIndex {
public:
    static constexpr Value npos = Empty;

    [[nodiscard]] Value find(uint64_t key) const noexcept {
        if (size_ == 0) return npos;
        for (std::size_t i = home(key);; i = (i + 1) & mask_) {
            const Slot &slot = slots_[i];
            if (slot.value == npos) return npos;
            if (slot.key == key) return slot.value;
        }
    }

    // Inserts the key, or overwrites its value. value must not be npos.
    void set(uint64_t key, Value value) {
        if ((size_ + 1) * 10 > slots_.size() * 7) grow();
        for (std::size_t i = home(key);; i = (i + 1) & mask_) {
            Slot &slot = slots_[i];
            if (slot.value == npos) {
                slot = Slot{key, value};
                ++size_;
                return;
            }
            if (slot.key == key) {
                slot.value = value;
                return;
            }
        }
    }

    // Overwrites the value of a key already present; never allocates. False when it is absent.
    bool assign(uint64_t key, Value value) noexcept {
        if (size_ == 0) return false;
        for (std::size_t i = home(key);; i = (i + 1) & mask_) {
            Slot &slot = slots_[i];
            if (slot.value == npos) return false;
            if (slot.key == key) {
                slot.value = value;
                return true;
            }
        }
    }

    bool erase(uint64_t key) noexcept {
        if (size_ == 0) return false;
        std::size_t i = home(key);
        for (;; i = (i + 1) & mask_) {
            if (slots_[i].value == npos) return false;
            if (slots_[i].key == key) break;
        }
        // Shift later members of the probe run back so no lookup ever stops early at a hole.
        for (std::size_t j = i;;) {
            j = (j + 1) & mask_;
            if (slots_[j].value == npos) break;
            std::size_t k = home(slots_[j].key);
            bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
            if (stays) continue;
            slots_[i] = slots_[j];
            i = j;
        }
        slots_[i].value = npos;
        --size_;
        return true;
    }

    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
    void clear() noexcept {
        for (Slot &slot : slots_) slot.value = npos;
        size_ = 0;
    }
    void reserve(std::size_t n) {
        while (n * 10 > slots_.size() * 7) grow();
    }
    // Calls fn(key, value) for every member, in no particular order.
    template <class Fn>
    void for_each(Fn &&fn) const {
        for (const Slot &slot : slots_)
            if (slot.value != npos) fn(slot.key, slot.value);
    }

private:
    struct Slot {
        uint64_t key;
        Value value;
    };

    [[nodiscard]] std::size_t home(uint64_t key) const noexcept { return static_cast<std::size_t>((key * 0x9E3779B97F4A7C15ull) >> shift_); }

    void grow() {
        std::vector<Slot> old;
        old.swap(slots_);
        std::size_t capacity = old.empty() ? 16 : old.size() * 2;
        slots_.assign(capacity, Slot{0, npos});
        mask_ = capacity - 1;
        shift_ = 64;
        for (std::size_t c = capacity; c > 1; c >>= 1) --shift_;
        size_ = 0;
        for (const Slot &slot : old)
            if (slot.value != npos) set(slot.key, slot.value);
    }

    std::vector<Slot> slots_;
    std::size_t size_ = 0;
    std::size_t mask_ = 0;
    unsigned shift_ = 64;
};

// Key hash -> 32-bit slot number, the common case.
using KeyIndex = BasicKeyIndex<uint32_t, UINT32_MAX>;

} // namespace aicache::sdk
