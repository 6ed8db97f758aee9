// Serving the encoder without LibTorch: the forward pass of network.cpp's model (bag -> MLP + skip
// -> unit embedding, and the relation head) in plain C++ kernels over weights copied out of it.
// A lookup embeds one question and re-scores a few neighbours: ~60 K multiply-adds, which LibTorch
// buries under per-operator dispatch (157 µs an embed). Training stays in LibTorch.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

namespace encoder {

using Features = std::vector<int64_t>;

// The nonlinearity of the encoder's hidden layers (the relation head's is always ReLU). GELU is
// the exact one, x * Phi(x), as torch::gelu computes it by default.
enum class Activation { relu, gelu, tanh };

// One torch::nn::Linear as LibTorch holds it: weight row-major out x in.
struct LinearWeights {
    int64_t in = 0, out = 0;
    std::vector<float> weight, bias;
};

// Every weight of the network, row-major float32.
struct InferenceWeights {
    int64_t buckets = 0, bag_dim = 0;
    std::vector<float> bag; // buckets x bag_dim
    // Instead of `bag`: the table read in place (64 MB at the default size, not worth a second
    // copy). It must stay where it is, unchanged, for as long as the Inference serves from it.
    const float *bag_view = nullptr;
    // encoder: fc2(h) + skip(x), h = act(deeper[n-1](... act(deeper[0](act(fc1(x)))))), no
    // deeper layers by default
    LinearWeights fc1, fc2, skip;
    std::vector<LinearWeights> deeper;
    Activation activation = Activation::relu;
    LinearWeights rel1, rel2;     // relation head over [u, v, |u-v|, u*v]
};

// Which dense kernels run: AVX2+FMA ones are chosen at run time, never by build flags, so one
// plugin binary runs on any x86-64; `portable` exists for CPUs without them and for tests.
enum class Kernels { automatic, portable, avx2 };

class Inference {
public:
    // Packs the weights for the kernels (the embedding table is moved or viewed, not copied). Throws
    // std::invalid_argument when the shapes do not fit together or `avx2` is asked of a CPU without it.
    explicit Inference(InferenceWeights weights, Kernels kernels = Kernels::automatic);
    ~Inference();
    Inference(Inference &&) noexcept;
    Inference &operator=(Inference &&) noexcept;

    [[nodiscard]] static bool avx2_supported();
    [[nodiscard]] Kernels kernels() const; // portable or avx2: the path in use
    [[nodiscard]] int64_t dim() const;

    // texts.size() x dim rows, each L2-normalised, into `out`. Throws std::out_of_range on a
    // feature id outside the embedding table.
    void embed(const std::vector<const Features *> &texts, float *out) const;
    // scores[i] = sigmoid(rel(u = candidates[i], v = query)): may the question `query` be answered
    // with the answer of cached text i? The query's share of the first layer is computed once.
    void relate(const float *query, const std::vector<const float *> &candidates, float *scores) const;
    // scores[i] = sigmoid(rel(u = embed(a[i]), v = embed(b[i]))), the same argument order as relate.
    void match(const std::vector<const Features *> &a, const std::vector<const Features *> &b, float *scores) const;

private:
    struct Impl;
    std::unique_ptr<const Impl> impl_;
};

} // namespace encoder
