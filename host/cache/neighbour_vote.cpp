#include "cache/neighbour_vote.hpp"

#include <algorithm>
#include <cmath>
#include <unordered_map>

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
    std::vector<double> attention(neighbours.size(), 1.0);
    if (pooling == Pooling::attention) {
        const double t = std::max(1e-3f, temperature);
        double top = -INFINITY;
        for (const auto &n : neighbours) top = std::max(top, logit(n.score) / t);
        double total = 0;
        for (size_t i = 0; i < neighbours.size(); ++i) total += attention[i] = std::exp(logit(neighbours[i].score) / t - top);
        for (double &a : attention) a /= total;
    }
    std::unordered_map<uint64_t, size_t> at;
    std::vector<double> pooled;
    for (size_t i = 0; i < neighbours.size(); ++i) {
        auto [it, fresh] = at.emplace(neighbours[i].cluster, votes.size());
        if (fresh) {
            votes.push_back({neighbours[i].cluster, 0, i, 0});
            pooled.push_back(0);
        }
        ClusterVote &v = votes[it->second];
        ++v.members;
        if (neighbours[i].score > neighbours[v.best_member].score) v.best_member = i;
        if (pooling == Pooling::attention) pooled[it->second] += attention[i] * neighbours[i].score;
    }
    for (size_t c = 0; c < votes.size(); ++c)
        votes[c].score = pooling == Pooling::attention ? static_cast<float>(pooled[c]) : neighbours[votes[c].best_member].score;
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
