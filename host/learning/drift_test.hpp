// When the coordinator should learn without being asked: the last closed window did significantly
// worse than the windows before it. Two one-sided two-proportion z-tests on the monitor's windows
// (store/monitor_windows): hit ratio down (among requests the cache saw), or false hits reported
// up (per answer served from the cache).
#pragma once

#include "store/monitor_windows.hpp"

#include <string>
#include <vector>

namespace aicache::learning {

struct DriftVerdict {
    bool drifted = false;
    std::string why; // the test and its figures, in words
};

// `windows` oldest first: the last is tested against up to `reference` before it, pooled. A
// window with fewer than `min_requests` seen requests is not judged.
DriftVerdict detect_drift(const std::vector<store::WindowFigures> &windows, size_t reference = 5, double z_threshold = 2.33,
                          uint64_t min_requests = 200);

} // namespace aicache::learning
