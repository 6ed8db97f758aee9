#include "memory.hpp"

#include <algorithm>

namespace encoder {

Memory::Memory(uint64_t capacity, uint64_t seed) : capacity_(capacity), seed_(seed) { reseed(); }

void Memory::reseed() {
    std::seed_seq sequence{uint32_t(seed_), uint32_t(seed_ >> 32), uint32_t(seen_), uint32_t(seen_ >> 32), 0x6d656d6fu};
    rng_.seed(sequence);
}

std::string Memory::key(std::string_view a, std::string_view b) {
    std::string k = std::to_string(a.size());
    k += ':';
    k += a;
    k += b;
    return k;
}

void Memory::offer(std::string_view a, std::string_view b, float label) {
    if (capacity_ == 0) {
        ++seen_;
        return;
    }
    std::string k = key(a, b);
    if (keys_.count(k)) return;
    ++seen_;
    if (pairs_.size() < capacity_) {
        pairs_.push_back({std::string(a), std::string(b), label});
        keys_.insert(std::move(k));
        return;
    }
    uint64_t slot = std::uniform_int_distribution<uint64_t>(0, seen_ - 1)(rng_);
    if (slot >= capacity_) return;
    RememberedPair &replaced = pairs_[slot];
    keys_.erase(key(replaced.a, replaced.b));
    replaced = {std::string(a), std::string(b), label};
    keys_.insert(std::move(k));
}

void Memory::save(aicache::sdk::StateWriter &out) const {
    out.u64(seen_);
    out.u64(pairs_.size());
    for (const RememberedPair &p : pairs_) {
        out.text(p.a);
        out.text(p.b);
        out.u8(p.label > 0.5f ? 1 : 0);
    }
}

Memory Memory::read(aicache::sdk::StateReader &in, uint64_t capacity, uint64_t seed) {
    Memory memory(capacity, seed);
    const uint64_t seen = in.u64();
    const uint64_t n = in.count(2 * 8 + 1);
    std::vector<RememberedPair> pairs;
    pairs.reserve(n);
    for (uint64_t i = 0; i < n; ++i) {
        RememberedPair p;
        p.a = in.text();
        p.b = in.text();
        uint8_t label = in.u8();
        if (label > 1) throw aicache::sdk::state_format_error("encoder: memory pair " + std::to_string(i) + " has label " + std::to_string(label));
        p.label = float(label);
        pairs.push_back(std::move(p));
    }
    if (n > seen) throw aicache::sdk::state_format_error("encoder: the memory holds more pairs than it has seen");
    memory.seen_ = seen;
    memory.reseed();
    if (pairs.size() > capacity) {
        std::shuffle(pairs.begin(), pairs.end(), memory.rng_);
        pairs.resize(capacity);
    }
    for (RememberedPair &p : pairs)
        if (memory.keys_.insert(key(p.a, p.b)).second) memory.pairs_.push_back(std::move(p));
    return memory;
}

} // namespace encoder
