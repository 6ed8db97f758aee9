// The encoder's network behind an interface with no LibTorch types, so only network.cpp pays for
// <torch/torch.h>: hashed features -> EmbeddingBag -> MLP -> unit embedding, and a relation head
// over [u, v, |u-v|, u*v] (Sung et al., CVPR 2018) that scores whether two texts match.
// LibTorch trains; serving (embed, match, relate) runs inference.hpp's kernels on a copy of the
// weights taken at construction and after every train() and load().
#pragma once

#include "inference.hpp"

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace encoder {

struct NetworkConfig {
    uint64_t buckets = 1 << 18;
    int64_t bag_dim = 64, hidden = 256, dim = 128, relation_hidden = 128;
    int64_t layers = 1; // hidden layers of the encoder, each `hidden` wide
    Activation activation = Activation::relu;
    double dropout = 0; // on the encoder's hidden layers, in training only
    uint64_t seed = 1;
    double learning_rate = 2e-3;
    int64_t batch = 64;
    double temperature = 0.05;
};

struct Pair {
    const Features *a, *b;
    float label; // 1: b may be answered with a's answer
};

using Clusters = std::vector<std::vector<const Features *>>; // each: texts known to share an answer

// Examples from one source (new pairs, or the memory replayed). A training step draws its whole
// batch from one set, chosen in proportion to its size: the clusters of a batch are each other's
// negatives, and negatives from another domain would be too easy to teach anything.
struct TrainingSet {
    const Clusters *clusters;
    const std::vector<Pair> *pairs;
};

// What one training call did, measured.
struct TrainReport {
    uint64_t steps = 0;
    double prototype_loss = 0, relation_loss = 0; // means over the call's last 50 steps
    double ewc_penalty = 0;                       // likewise; 0 without a consolidation anchor
};

class Network {
public:
    explicit Network(const NetworkConfig &config);
    ~Network();
    Network(const Network &) = delete;
    Network &operator=(const Network &) = delete;

    [[nodiscard]] int64_t dim() const;
    [[nodiscard]] std::vector<float> embed(const std::vector<const Features *> &texts) const;
    [[nodiscard]] std::vector<float> match(const std::vector<Pair> &pairs) const;
    // One score per candidate embedding (each dim floats) for the query embedding: see Inference::relate.
    [[nodiscard]] std::vector<float> relate(const float *query, const std::vector<const float *> &candidates) const;
    // Trains until `budget_ms` passes: a prototypical loss over `clusters` (each step's batch of
    // clusters are each other's negatives) and a binary loss of the relation head on `pairs`.
    // Sampling draws from `rng`. Stops after `max_steps` if that comes first.
    TrainReport train(const Clusters &clusters, const std::vector<Pair> &pairs, uint64_t budget_ms, std::mt19937_64 &rng,
                      uint64_t max_steps = UINT64_MAX);
    // The same over several sets (see TrainingSet).
    TrainReport train(const std::vector<TrainingSet> &sets, uint64_t budget_ms, std::mt19937_64 &rng, uint64_t max_steps = UINT64_MAX);

    // Elastic weight consolidation (Kirkpatrick et al., PNAS 2017): anchors the current parameters
    // as theta* and estimates the diagonal empirical Fisher F at them from up to `max_batches`
    // training batches of `clusters` and `pairs` (what should not be forgotten; at least one batch,
    // then no longer than `budget_ms`). From then on each train() step adds
    // (lambda/2) * sum F_i (theta_i - theta*_i)^2 over the dense layers and the embedding rows the
    // step touches. load() drops the anchor. Returns the batches used (0: nothing to anchor on).
    uint64_t consolidate(const Clusters &clusters, const std::vector<Pair> &pairs, double lambda, uint64_t max_batches, uint64_t budget_ms,
                         std::mt19937_64 &rng);
    [[nodiscard]] double consolidation_lambda() const; // 0 when nothing is anchored

    [[nodiscard]] std::string save() const;
    // Throws on bytes that are not this network's. Restarts the optimizers (Adam's moments and the
    // table's Adagrad sums at zero) and drops the consolidation anchor: load_optimizer() after it
    // continues the optimizers where save_optimizer() left them.
    void load(std::string_view bytes);
    // Adam's state for the dense layers and the table's Adagrad sums (the rows that have any: rows
    // no step touched are zero), as a LibTorch archive.
    [[nodiscard]] std::string save_optimizer() const;
    void load_optimizer(std::string_view bytes); // throws on bytes that are not this network's optimizer

    // The current weights, copied out of LibTorch.
    [[nodiscard]] InferenceWeights weights() const;
    // The same forward passes through LibTorch: the reference the serving kernels are tested against.
    [[nodiscard]] std::vector<float> embed_with_torch(const std::vector<const Features *> &texts) const;
    [[nodiscard]] std::vector<float> match_with_torch(const std::vector<Pair> &pairs) const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace encoder
