#include "replay/drifting_workload.hpp"

#include <algorithm>
#include <cmath>
#include <random>

namespace aicache::replay {

namespace {

// Question numbers by kind, far apart so the kinds never share a question.
constexpr uint64_t kSteadyPool = 1, kDriftedPool = 1'000'000, kBot = 2'000'000, kOneOff = 3'000'000;

} // namespace

Trace DriftingWorkload::window_trace(uint64_t window) const {
    Trace out;
    out.name = trace.name + " window " + std::to_string(window + 1);
    const size_t first = std::min(trace.requests.size(), size_t(window * options.requests_per_window));
    const size_t last = std::min(trace.requests.size(), first + options.requests_per_window);
    out.requests.assign(trace.requests.begin() + long(first), trace.requests.begin() + long(last));
    summarize(out);
    return out;
}

DriftingWorkload generate_drifting_workload(const DriftingWorkloadOptions &o) {
    DriftingWorkload w;
    w.options = o;
    w.trace.name = "drifting(seed=" + std::to_string(o.seed) + ")";
    std::mt19937_64 rng(o.seed);
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    // Answer sizes are a property of the question: drawn from its number, so every ask agrees.
    auto size_of = [seed = o.seed](uint64_t question) {
        std::mt19937_64 q(seed * 0x9E3779B97F4A7C15ull ^ question);
        std::lognormal_distribution<double> bytes(std::log(1500.0), 0.6);
        return static_cast<uint64_t>(std::clamp(bytes(q), 200.0, 16000.0));
    };
    std::vector<double> cdf(std::max<uint64_t>(o.pool, 1));
    double total = 0;
    for (size_t r = 0; r < cdf.size(); ++r) cdf[r] = total += 1.0 / std::pow(double(r + 1), o.zipf_alpha);
    for (auto &c : cdf) c /= total;
    auto popular = [&](uint64_t base) {
        auto rank = uint64_t(std::lower_bound(cdf.begin(), cdf.end(), unit(rng)) - cdf.begin());
        return base + std::min<uint64_t>(rank, cdf.size() - 1);
    };

    const uint64_t n = o.windows * o.requests_per_window;
    w.trace.requests.reserve(n);
    uint64_t bot_next = 0, one_off_next = 0;
    for (uint64_t i = 0; i < n; ++i) {
        uint64_t question;
        if (i / o.requests_per_window < o.drift_window) {
            question = popular(kSteadyPool);
        } else {
            const double r = unit(rng);
            if (r < o.bot_share && o.bot_questions > 0) question = kBot + bot_next++ % o.bot_questions;
            else if (r < o.bot_share + o.one_off_share) question = kOneOff + one_off_next++;
            else question = popular(kDriftedPool);
        }
        const uint64_t size = size_of(question);
        w.trace.requests.push_back(Request{i, question, size, (size + 3) / 4});
    }
    summarize(w.trace);
    return w;
}

} // namespace aicache::replay
