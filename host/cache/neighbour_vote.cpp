#include "cache/neighbour_vote.hpp"

#include <algorithm>
#include <cmath>

namespace aicache::cache {
namespace {

float logit(float p) {
    constexpr float kEdge = 1e-6f; // relation scores reach 1 in float; keep the logit finite
    p = std::clamp(p, kEdge, 1.0f - kEdge);
    return std::log(p / (1.0f - p));
}

} // namespace

std::vector<ClusterVote> vote_by_cluster(std::span<const ScoredNeighbour> neighbours, Pooling pooling, float temperature) {
    std::vector<ClusterVote> votes;
    if (neighbours.empty()) return votes;
    votes.reserve(neighbours.size());
    // Attention weights, unnormalized: exp((logit_i - max logit) / t). With nearest, unused.
    double total = 0;
    std::vector<double> weight(pooling == Pooling::attention ? neighbours.size() : 0);
    if (pooling == Pooling::attention) {
        const double t = std::max(1e-3f, temperature);
        double top = -INFINITY;
        for (const auto &n : neighbours) top = std::max(top, logit(n.score) / t);
        for (size_t i = 0; i < neighbours.size(); ++i) total += weight[i] = std::exp(logit(neighbours[i].score) / t - top);
    }
    for (size_t i = 0; i < neighbours.size(); ++i) {
        // k is a handful: a linear search beats a hash map here.
        auto it = std::find_if(votes.begin(), votes.end(), [&](const ClusterVote &v) { return v.cluster == neighbours[i].cluster; });
        if (it == votes.end()) it = votes.insert(votes.end(), ClusterVote{neighbours[i].cluster, 0, i, 0});
        ++it->members;
        if (neighbours[i].score > neighbours[it->best_member].score) it->best_member = i;
        if (pooling == Pooling::attention) it->score += static_cast<float>(weight[i] / total * neighbours[i].score);
    }
    if (pooling == Pooling::nearest)
        for (auto &v : votes) v.score = neighbours[v.best_member].score;
    std::stable_sort(votes.begin(), votes.end(), [](const ClusterVote &a, const ClusterVote &b) { return a.score > b.score; });
    return votes;
}

bool parse_pooling(std::string_view name, Pooling &out) {
    if (name == "nearest") out = Pooling::nearest;
    else if (name == "attention") out = Pooling::attention;
    else return false;
    return true;
}

const char *pooling_name(Pooling pooling) { return pooling == Pooling::attention ? "attention" : "nearest"; }

} // namespace aicache::cache
