#include "cli/eval_json.hpp"

#include <cmath>

namespace aicache::cli {

nlohmann::json operating_point_json(const learning::OperatingPoint &p) {
    // No threshold meets the target: +inf, which JSON cannot spell.
    return {{"threshold", std::isfinite(p.threshold) ? nlohmann::json(p.threshold) : nlohmann::json()},
            {"hit_rate", p.hit_rate},
            {"false_hit_rate", p.false_hit_rate},
            {"precision", p.precision},
            {"true_hits", p.true_hits},
            {"false_hits", p.false_hits},
            {"positives", p.positives},
            {"negatives", p.negatives}};
}

} // namespace aicache::cli
