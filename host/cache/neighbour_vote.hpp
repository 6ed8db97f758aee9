// The matching step over the k nearest cached questions: each neighbour, scored by the relation
// head, speaks for the entry it belongs to (an entry's cluster is its own question and the
// verified paraphrases indexed as its aliases), and the entries are ranked by what their members
// say together. Shared by the data plane (SemanticMatcher::find) and `aicache eval fewshot`, so
// what is measured is what serves.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace aicache::cache {

struct ScoredNeighbour {
    uint64_t cluster = 0; // the entry the neighbour is (or is an alias of)
    float score = 0;      // the relation head's P(paraphrase), in (0, 1)
};

struct ClusterVote {
    uint64_t cluster = 0;
    float score = 0;        // the pooled estimate the threshold learner decides on
    size_t best_member = 0; // index into the neighbours of the cluster's highest-scored one
    size_t members = 0;     // how many of the neighbours belong to the cluster
};

enum class Pooling {
    // A cluster scores as its best member: more members only mean more chances to be close.
    nearest,
    // Matching-network vote: attention a_i = softmax(logit(score_i) / temperature) over all k
    // neighbours, and a cluster scores sum over its members of a_i * score_i. Members agreeing add
    // their evidence; a rival cluster as plausible as the best takes attention from it, so an
    // ambiguous question is scored lower than its best single match.
    attention,
};

// One vote per cluster present among the neighbours, best first.
std::vector<ClusterVote> vote_by_cluster(std::span<const ScoredNeighbour> neighbours, Pooling pooling, float temperature = 1.0f);

// "nearest" | "attention"; false for anything else.
bool parse_pooling(std::string_view name, Pooling &out);
const char *pooling_name(Pooling pooling);

} // namespace aicache::cache
