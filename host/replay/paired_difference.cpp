#include "replay/paired_difference.hpp"

#include <boost/math/distributions/students_t.hpp>

#include <cmath>

namespace aicache::replay {

std::string PairedDifference::verdict() const {
    if (ahead()) return "ahead";
    if (behind()) return "behind";
    return "within noise";
}

Expected<PairedDifference> paired_difference(const std::vector<uint64_t> &ours, const std::vector<uint64_t> &theirs, uint64_t requests,
                                             double confidence) {
    if (ours.size() != theirs.size()) return Status(Errc::invalid_argument, "paired difference: the two replays were cut into different chunks");
    if (ours.size() < 2) return Status(Errc::invalid_argument, "paired difference: needs at least 2 chunks");
    if (requests == 0) return Status(Errc::invalid_argument, "paired difference: no measured requests");
    if (!(confidence > 0 && confidence < 1)) return Status(Errc::invalid_argument, "paired difference: the confidence must lie between 0 and 1");
    const size_t n = ours.size();
    double sum = 0;
    for (size_t c = 0; c < n; ++c) sum += double(ours[c]) - double(theirs[c]);
    const double mean = sum / double(n);
    double squares = 0;
    for (size_t c = 0; c < n; ++c) {
        const double d = double(ours[c]) - double(theirs[c]) - mean;
        squares += d * d;
    }
    // The whole difference is n times the mean chunk difference, whose standard error is s / sqrt(n).
    const double spread = std::sqrt(squares / double(n - 1)) * std::sqrt(double(n));
    const double t = boost::math::quantile(boost::math::students_t(double(n - 1)), 0.5 + confidence / 2);
    const double to_points = 100.0 / double(requests);
    PairedDifference out;
    out.points = sum * to_points;
    out.low = (sum - t * spread) * to_points;
    out.high = (sum + t * spread) * to_points;
    out.chunks = n;
    return out;
}

} // namespace aicache::replay
