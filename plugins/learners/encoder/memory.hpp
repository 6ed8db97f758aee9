// The encoder's memory for continual learning: a uniform sample of the pairs it trained on, kept
// by reservoir sampling (Vitter's algorithm R, ACM TOMS 1985) in a fixed number of slots. It
// holds texts and labels, not features: whoever loads it hashes the texts again.
#pragma once

#include <aicache/sdk/state.hpp>

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace encoder {

struct RememberedPair {
    std::string a, b;
    float label;
};

class Memory {
public:
    Memory(uint64_t capacity, uint64_t seed);

    // One more pair of the stream: after n offers each offered pair is held with probability
    // capacity / n. A pair already held is not offered again, so training on the same file twice
    // does not fill the memory with copies.
    void offer(std::string_view a, std::string_view b, float label);

    [[nodiscard]] const std::vector<RememberedPair> &pairs() const { return pairs_; }
    [[nodiscard]] uint64_t capacity() const { return capacity_; }
    [[nodiscard]] uint64_t seen() const { return seen_; } // pairs offered so far, over every checkpoint

    void save(aicache::sdk::StateWriter &out) const;
    // What save wrote, kept in `capacity` slots: a saved memory larger than that keeps a uniform
    // subset (a uniform sample of a uniform sample), so a smaller `memory` setting still reads it.
    static Memory read(aicache::sdk::StateReader &in, uint64_t capacity, uint64_t seed);

private:
    static std::string key(std::string_view a, std::string_view b);
    void reseed();

    uint64_t capacity_, seed_, seen_ = 0;
    std::vector<RememberedPair> pairs_;
    std::unordered_set<std::string> keys_;
    // Its own generator, seeded from the seed and the count seen: what the memory keeps does not
    // depend on how training consumed the learner's random numbers.
    std::mt19937_64 rng_;
};

} // namespace encoder
