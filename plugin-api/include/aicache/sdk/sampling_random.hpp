// The pseudo-random numbers sampled policies draw entries with (xorshift64*, Vigna 2016): fast,
// and deterministic from its seed, so a replay of the same trace repeats exactly.
#pragma once

#include <cstdint>

namespace aicache::sdk {

class SamplingRandom {
public:
    explicit SamplingRandom(uint64_t seed = 0x9E3779B97F4A7C15ull) : state_(seed == 0 ? 1 : seed) {}
    uint64_t next() {
        state_ ^= state_ >> 12;
        state_ ^= state_ << 25;
        state_ ^= state_ >> 27;
        return state_ * 2685821657736338717ull;
    }

private:
    uint64_t state_;
};

} // namespace aicache::sdk
