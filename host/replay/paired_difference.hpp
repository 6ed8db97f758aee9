// How far apart two replays of one trace are, and how much of that the trace's own noise could
// explain. A hit ratio measured on one trace is exact for that trace, but which of two close
// policies comes out ahead is partly chance: on a trace of independent uniform requests every
// sensible policy has the same expected hit ratio, and the best of ten of them is ahead of each
// by luck. Cut the measured requests into chunks, take the difference of hits in each, and the
// spread of those differences says how wide the whole difference could swing (a Student t
// interval over the chunks). Chunks next to each other share cache contents, which makes the
// interval narrower than the truth, so "behind" is said a little too readily, never too rarely.
#pragma once

#include "core/status.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace aicache::replay {

struct PairedDifference {
    double points = 0;     // ours minus theirs over the whole measured trace, in hit-ratio points
    double low = 0, high = 0; // the interval around it at the confidence asked for
    size_t chunks = 0;
    [[nodiscard]] bool ahead() const { return low > 0; }   // beyond the noise
    [[nodiscard]] bool behind() const { return high < 0; } // beyond the noise
    // "ahead", "behind", or "within noise" when the interval holds 0.
    [[nodiscard]] std::string verdict() const;
};

// `ours` and `theirs` are the hits per chunk of two replays of the same `requests` measured
// requests in the same chunks (ReplayOptions::chunks). Needs at least 2 chunks.
Expected<PairedDifference> paired_difference(const std::vector<uint64_t> &ours, const std::vector<uint64_t> &theirs, uint64_t requests,
                                             double confidence = 0.95);

} // namespace aicache::replay
