#include "learning/canon_eval.hpp"

#include <fmt/format.h>

namespace aicache::learning {

ExactMatches exact_matches(const std::vector<LabelledPair> &pairs, const cache::PromptCanon &canon) {
    ExactMatches out;
    for (const auto &p : pairs) {
        const bool equal = canon.apply(p.a) == canon.apply(p.b);
        if (p.label == 1) ++out.positives, out.hits += equal;
        else ++out.negatives, out.false_hits += equal;
    }
    return out;
}

Evaluator canon_evaluator(const std::vector<LabelledPair> &pairs, std::string split_name) {
    ExactMatches none = exact_matches(pairs, {});
    return [&pairs, none, split = std::move(split_name)](const nlohmann::json &candidate) {
        CandidateScore score;
        score.split = split;
        score.score = kFailedCanon;
        std::string steps = candidate.contains("params") && candidate["params"].is_object() ? candidate["params"].value("steps", "") : "";
        auto canon = cache::PromptCanon::parse(steps);
        if (!canon) {
            score.outcome = "rejected: " + canon.error().message();
            return score;
        }
        ExactMatches m = exact_matches(pairs, *canon);
        score.detail = {{"steps", canon->name()},          {"hits", m.hits},           {"false_hits", m.false_hits},
                        {"positives", m.positives},        {"negatives", m.negatives}, {"baseline_hits", none.hits},
                        {"baseline_false_hits", none.false_hits}};
        if (m.false_hits > none.false_hits) {
            score.outcome = fmt::format("rejected: adds {} false hits", m.false_hits - none.false_hits);
            return score;
        }
        score.score = 100 * (m.hit_rate() - none.hit_rate());
        score.outcome = "measured";
        return score;
    };
}

} // namespace aicache::learning
