#include "learning/drift_test.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace aicache::learning {
namespace {

// z of p1 - p2 with the pooled proportion; 0 when undefined.
double two_proportion_z(uint64_t x1, uint64_t n1, uint64_t x2, uint64_t n2) {
    if (n1 == 0 || n2 == 0) return 0;
    const double p1 = double(x1) / double(n1), p2 = double(x2) / double(n2), p = double(x1 + x2) / double(n1 + n2);
    const double se = std::sqrt(p * (1 - p) * (1.0 / double(n1) + 1.0 / double(n2)));
    return se > 0 ? (p1 - p2) / se : 0;
}

} // namespace

DriftVerdict detect_drift(const std::vector<store::WindowFigures> &windows, size_t reference, double z_threshold, uint64_t min_requests) {
    DriftVerdict verdict;
    if (windows.size() < 2) return verdict;
    const store::WindowFigures &last = windows.back();
    const uint64_t last_seen = last.hits + last.semantic_hits + last.misses;
    if (last_seen < min_requests) return verdict;
    uint64_t seen = 0, answered = 0, served = 0, wrong = 0;
    const size_t first = windows.size() - 1 - std::min(reference, windows.size() - 1);
    for (size_t i = first; i + 1 < windows.size(); ++i) {
        seen += windows[i].hits + windows[i].semantic_hits + windows[i].misses;
        answered += windows[i].hits + windows[i].semantic_hits;
        served += windows[i].hits + windows[i].semantic_hits;
        wrong += windows[i].wrong_reports;
    }
    if (seen < min_requests) return verdict;
    const uint64_t last_answered = last.hits + last.semantic_hits;
    const double z_hits = two_proportion_z(answered, seen, last_answered, last_seen); // > 0: the last window hit less
    if (z_hits >= z_threshold) {
        verdict.drifted = true;
        verdict.why = fmt::format("hit ratio fell to {:.1f}% in the last window from {:.1f}% in the {} before (z = {:.1f})", 100.0 * double(last_answered) / double(last_seen),
                                  100.0 * double(answered) / double(seen), windows.size() - 1 - first, z_hits);
        return verdict;
    }
    const double z_wrong = two_proportion_z(last.wrong_reports, std::max<uint64_t>(1, last_answered), wrong, std::max<uint64_t>(1, served));
    if (last.wrong_reports > 0 && z_wrong >= z_threshold) {
        verdict.drifted = true;
        verdict.why = fmt::format("false hits reported rose to {} of {} answers from the cache, from {} of {} before (z = {:.1f})", last.wrong_reports,
                                  last_answered, wrong, served, z_wrong);
    }
    return verdict;
}

} // namespace aicache::learning
