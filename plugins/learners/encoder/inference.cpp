// The encoder's serving kernels. No LibTorch here: this TU must stay cheap to build and to load.
#include "inference.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define ENCODER_HAVE_X86 1
#endif

namespace encoder {
namespace {

constexpr size_t kLanes = 8; // floats in one AVX register; packed rows are whole registers long

size_t whole_registers(size_t n) { return (n + kLanes - 1) / kLanes * kLanes; }

// A Linear transposed to in x stride, zero past `out` (stride: out rounded up to whole
// registers). Walking the inputs, a kernel streams each one's outputs contiguously and keeps a
// block of outputs in registers: no horizontal sums, no tails to special-case.
struct Packed {
    size_t in = 0, out = 0, stride = 0;
    std::vector<float> wt, bias;

    Packed(size_t in_, size_t out_) : in(in_), out(out_), stride(whole_registers(out_)), wt(in_ * stride), bias(stride) {}
    // Packed rows [row, row + count) get the layer's input columns [column, column + count).
    void put(size_t row, const LinearWeights &layer, size_t column, size_t count) {
        for (size_t k = 0; k < count; ++k)
            for (size_t j = 0; j < out; ++j) wt[(row + k) * stride + j] = layer.weight[j * size_t(layer.in) + column + k];
    }
    void add_bias(const LinearWeights &layer) {
        for (size_t j = 0; j < out; ++j) bias[j] += layer.bias[j];
    }
};

// y[r][0, stride) = bias + x[r] . wt, for rows r in [0, rows); ReLU'd when `relu`.
struct Dense {
    const float *x;
    size_t rows, x_stride;
    const float *wt;
    size_t in, stride;
    const float *bias;
    float *y;
    size_t y_stride;
    bool relu;
};

// GCC/Clang generic vectors: SSE2 on any x86-64, NEON on ARM, no instruction set assumed.
using Float4 = float __attribute__((vector_size(16)));

Float4 load4(const float *p) {
    Float4 v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

// Register blocking: R rows x C registers (of 8 floats) of outputs accumulate across all inputs,
// so every weight loaded serves R rows and every input broadcast serves C registers. Every loop
// with a constant trip count is unrolled on purpose: a loop GCC leaves rolled keeps the
// accumulators in memory, and a store per FMA made these kernels 4x slower.
template <int R, int C>
void block_portable(const Dense &d, size_t row, size_t col) {
    constexpr int V = C * int(kLanes / 4); // Float4s per row of the block
    Float4 acc[R][V];
    const float *x[R];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
        x[r] = d.x + (row + size_t(r)) * d.x_stride;
#pragma GCC unroll 16
        for (int c = 0; c < V; ++c) acc[r][c] = load4(d.bias + col + 4 * size_t(c));
    }
    const float *w = d.wt + col;
    const size_t in = d.in, stride = d.stride;
    for (size_t k = 0; k < in; ++k, w += stride) {
        Float4 wk[V];
#pragma GCC unroll 16
        for (int c = 0; c < V; ++c) wk[c] = load4(w + 4 * size_t(c));
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) {
            const float xk = x[r][k];
#pragma GCC unroll 16
            for (int c = 0; c < V; ++c) acc[r][c] += xk * wk[c];
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
        float *y = d.y + (row + size_t(r)) * d.y_stride + col;
#pragma GCC unroll 16
        for (int c = 0; c < V; ++c) std::memcpy(y + 4 * c, &acc[r][c], sizeof(Float4));
        if (d.relu)
            for (size_t l = 0; l < kLanes * C; ++l) y[l] = std::max(y[l], 0.0f);
    }
}

struct Portable {
    static constexpr int kRowBlock = 4, kNarrow = 1, kWide = 4; // fits SSE2's 16 registers
    template <int R, int C>
    static void block(const Dense &d, size_t row, size_t col) {
        block_portable<R, C>(d, row, col);
    }
};

#ifdef ENCODER_HAVE_X86
template <int R, int C>
__attribute__((target("avx2,fma"))) void block_avx2(const Dense &d, size_t row, size_t col) {
    __m256 acc[R][C];
    const float *x[R];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
        x[r] = d.x + (row + size_t(r)) * d.x_stride;
#pragma GCC unroll 8
        for (int c = 0; c < C; ++c) acc[r][c] = _mm256_loadu_ps(d.bias + col + kLanes * size_t(c));
    }
    const float *w = d.wt + col;
    const size_t in = d.in, stride = d.stride;
    for (size_t k = 0; k < in; ++k, w += stride) {
        __m256 wk[C];
#pragma GCC unroll 8
        for (int c = 0; c < C; ++c) wk[c] = _mm256_loadu_ps(w + kLanes * size_t(c));
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) {
            const __m256 xk = _mm256_broadcast_ss(x[r] + k);
#pragma GCC unroll 8
            for (int c = 0; c < C; ++c) acc[r][c] = _mm256_fmadd_ps(xk, wk[c], acc[r][c]);
        }
    }
    const __m256 lowest = _mm256_set1_ps(d.relu ? 0.0f : -INFINITY); // maxps returns its 2nd operand on a NaN
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
        for (int c = 0; c < C; ++c)
            _mm256_storeu_ps(d.y + (row + size_t(r)) * d.y_stride + col + kLanes * size_t(c), _mm256_max_ps(lowest, acc[r][c]));
}

struct Avx2 {
    // 8 accumulators either way: enough independent FMA chains to hide their latency, and room
    // left in the 16 registers for the weights and the broadcast input.
    static constexpr int kRowBlock = 4, kNarrow = 2, kWide = 8;
    template <int R, int C>
    static void block(const Dense &d, size_t row, size_t col) {
        block_avx2<R, C>(d, row, col);
    }
};
#endif

template <class Kernel, int R, int C>
void columns(const Dense &d, size_t row) {
    size_t col = 0;
    for (; col + kLanes * C <= d.stride; col += kLanes * C) Kernel::template block<R, C>(d, row, col);
    for (; col < d.stride; col += kLanes) Kernel::template block<R, 1>(d, row, col);
}

template <class Kernel>
void dense(const Dense &d) {
    size_t row = 0;
    for (; row + Kernel::kRowBlock <= d.rows; row += Kernel::kRowBlock) columns<Kernel, Kernel::kRowBlock, Kernel::kNarrow>(d, row);
    for (; row < d.rows; ++row) columns<Kernel, 1, Kernel::kWide>(d, row);
}

float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

void check_linear(const char *name, const LinearWeights &l, int64_t in, int64_t out) {
    if (l.in != in || l.out != out || l.weight.size() != size_t(in * out) || l.bias.size() != size_t(out))
        throw std::invalid_argument(std::string("encoder inference: layer ") + name + " is " + std::to_string(l.out) + " x " +
                                    std::to_string(l.in) + ", expected " + std::to_string(out) + " x " + std::to_string(in));
}

// The hidden layers' activation over the first `out` values of each row (ReLU is fused into the
// dense kernels; the others are applied after them).
void activate(Activation activation, float *y, size_t rows, size_t out, size_t stride) {
    if (activation == Activation::relu) return;
    for (size_t r = 0; r < rows; ++r) {
        float *row = y + r * stride;
        if (activation == Activation::tanh)
            for (size_t j = 0; j < out; ++j) row[j] = std::tanh(row[j]);
        else
            for (size_t j = 0; j < out; ++j) row[j] = 0.5f * row[j] * (1.0f + std::erf(row[j] * float(M_SQRT1_2)));
    }
}

} // namespace

struct Inference::Impl {
    Kernels kernels;
    void (*dense)(const Dense &);
    size_t buckets, bag_dim, dim;
    std::vector<float> bag_owned;
    const float *bag; // bag_owned's data, or the caller's table
    Activation activation;
    // fc2 and skip are one layer over [the last hidden layer padded to its stride, x]: the sum the
    // model takes of the two becomes one pass that accumulates both.
    Packed fc1;
    std::vector<Packed> deeper;
    Packed head;
    // rel1's input blocks reordered to [v, u, |u-v|, u*v], so the query's block (v) is its first
    // rows and the three per-candidate blocks are one contiguous matrix after it.
    Packed rel1;
    std::vector<float> rel2; // rel1's stride long, zero past relation_hidden
    float rel2_bias;

    Impl(InferenceWeights &w, Kernels k)
        : kernels(k), buckets(size_t(w.buckets)), bag_dim(size_t(w.bag_dim)), dim(size_t(w.fc2.out)), bag_owned(std::move(w.bag)),
          bag(w.bag_view != nullptr ? w.bag_view : bag_owned.data()), activation(w.activation), fc1(packed(w.fc1)),
          deeper(packed(w.deeper)), head(last_hidden().stride + bag_dim, dim), rel1(4 * dim, size_t(w.rel1.out)), rel2(rel1.stride),
          rel2_bias(w.rel2.bias.at(0)) {
        head.put(0, w.fc2, 0, size_t(w.fc2.in));
        head.put(last_hidden().stride, w.skip, 0, bag_dim);
        head.add_bias(w.fc2);
        head.add_bias(w.skip);
        rel1.put(0, w.rel1, dim, dim);               // v
        rel1.put(dim, w.rel1, 0, dim);               // u
        rel1.put(2 * dim, w.rel1, 2 * dim, 2 * dim); // |u-v|, u*v
        rel1.add_bias(w.rel1);
        std::copy(w.rel2.weight.begin(), w.rel2.weight.end(), rel2.begin());
#ifdef ENCODER_HAVE_X86
        dense = kernels == Kernels::avx2 ? &encoder::dense<Avx2> : &encoder::dense<Portable>;
#else
        dense = &encoder::dense<Portable>;
#endif
    }

    static Packed packed(const LinearWeights &layer) {
        Packed p(size_t(layer.in), size_t(layer.out));
        p.put(0, layer, 0, size_t(layer.in));
        p.add_bias(layer);
        return p;
    }
    static std::vector<Packed> packed(const std::vector<LinearWeights> &layers) {
        std::vector<Packed> out;
        for (const LinearWeights &layer : layers) out.push_back(packed(layer));
        return out;
    }
    [[nodiscard]] const Packed &last_hidden() const { return deeper.empty() ? fc1 : deeper.back(); }

    // One hidden layer over `rows` rows of x, its activation applied.
    void hidden_layer(const Packed &layer, const float *x, size_t x_stride, size_t rows, float *y, size_t y_stride) const {
        dense({x, rows, x_stride, layer.wt.data(), layer.in, layer.stride, layer.bias.data(), y, y_stride, activation == Activation::relu});
        activate(activation, y, rows, layer.out, y_stride);
    }

    void bag_mean(const Features &ids, float *x) const {
        std::fill_n(x, bag_dim, 0.0f);
        for (int64_t id : ids) {
            if (id < 0 || uint64_t(id) >= buckets)
                throw std::out_of_range("encoder inference: feature id " + std::to_string(id) + " outside the table's " +
                                        std::to_string(buckets) + " rows");
            const float *row = bag + size_t(id) * bag_dim;
            for (size_t k = 0; k < bag_dim; ++k) x[k] += row[k];
        }
        if (!ids.empty())
            for (size_t k = 0; k < bag_dim; ++k) x[k] /= float(ids.size());
    }

    // Rows [u, |u-v|, u*v] of the relation head's per-candidate input, written to `out`.
    void relation_input(const float *u, const float *v, float *out) const {
        for (size_t k = 0; k < dim; ++k) {
            out[k] = u[k];
            out[dim + k] = std::fabs(u[k] - v[k]);
            out[2 * dim + k] = u[k] * v[k];
        }
    }

    void score(const float *hidden, size_t rows, float *scores) const {
        for (size_t i = 0; i < rows; ++i) {
            const float *h = hidden + i * rel1.stride;
            float logit = rel2_bias;
            for (size_t j = 0; j < rel1.out; ++j) logit += h[j] * rel2[j];
            scores[i] = sigmoid(logit);
        }
    }
};

Inference::Inference(InferenceWeights w, Kernels kernels) {
    if (w.buckets < 1 || w.bag_dim < 1 || (w.bag_view == nullptr && w.bag.size() != size_t(w.buckets * w.bag_dim)))
        throw std::invalid_argument("encoder inference: the embedding table is not buckets x bag_dim");
    check_linear("fc1", w.fc1, w.bag_dim, w.fc1.out);
    int64_t hidden = w.fc1.out;
    for (size_t i = 0; i < w.deeper.size(); ++i) {
        check_linear(("deeper[" + std::to_string(i) + "]").c_str(), w.deeper[i], hidden, w.deeper[i].out);
        hidden = w.deeper[i].out;
    }
    check_linear("fc2", w.fc2, hidden, w.fc2.out);
    check_linear("skip", w.skip, w.bag_dim, w.fc2.out);
    check_linear("rel1", w.rel1, 4 * w.fc2.out, w.rel1.out);
    check_linear("rel2", w.rel2, w.rel1.out, 1);
    if (kernels == Kernels::automatic) kernels = avx2_supported() ? Kernels::avx2 : Kernels::portable;
    if (kernels == Kernels::avx2 && !avx2_supported())
        throw std::invalid_argument("encoder inference: AVX2+FMA kernels asked for on a CPU without them: use Kernels::automatic");
    impl_ = std::make_unique<const Impl>(w, kernels);
}

Inference::~Inference() = default;
Inference::Inference(Inference &&) noexcept = default;
Inference &Inference::operator=(Inference &&) noexcept = default;

bool Inference::avx2_supported() {
#ifdef ENCODER_HAVE_X86
    // Also checks that the OS saves the AVX registers (XGETBV), not only that the CPU has them.
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return false;
#endif
}

Kernels Inference::kernels() const { return impl_->kernels; }
int64_t Inference::dim() const { return int64_t(impl_->dim); }

void Inference::embed(const std::vector<const Features *> &texts, float *out) const {
    const Impl &m = *impl_;
    const size_t n = texts.size(), h = m.last_hidden().stride, width = h + m.bag_dim;
    if (n == 0) return;
    std::vector<float> act(n * width), y(n * m.head.stride); // act rows: [the last hidden layer, x]
    for (size_t i = 0; i < n; ++i) m.bag_mean(*texts[i], act.data() + i * width + h);
    const float *x = act.data() + h;
    if (m.deeper.empty()) {
        m.hidden_layer(m.fc1, x, width, n, act.data(), width);
    } else {
        std::vector<float> from(n * m.fc1.stride), to;
        m.hidden_layer(m.fc1, x, width, n, from.data(), m.fc1.stride);
        size_t from_stride = m.fc1.stride;
        for (size_t l = 0; l < m.deeper.size(); ++l) {
            const Packed &layer = m.deeper[l];
            const bool last = l + 1 == m.deeper.size();
            if (!last) to.assign(n * layer.stride, 0.0f);
            m.hidden_layer(layer, from.data(), from_stride, n, last ? act.data() : to.data(), last ? width : layer.stride);
            if (!last) from.swap(to), from_stride = layer.stride;
        }
    }
    m.dense({act.data(), n, width, m.head.wt.data(), m.head.in, m.head.stride, m.head.bias.data(), y.data(), m.head.stride, false});
    for (size_t i = 0; i < n; ++i) {
        const float *row = y.data() + i * m.head.stride;
        float square_sum = 0;
        for (size_t k = 0; k < m.dim; ++k) square_sum += row[k] * row[k];
        const float norm = std::max(std::sqrt(square_sum), 1e-8f); // as torch's normalize(eps = 1e-8)
        for (size_t k = 0; k < m.dim; ++k) out[i * m.dim + k] = row[k] / norm;
    }
}

void Inference::relate(const float *query, const std::vector<const float *> &candidates, float *scores) const {
    const Impl &m = *impl_;
    const size_t n = candidates.size(), d = m.dim, rs = m.rel1.stride;
    if (n == 0) return;
    std::vector<float> base(rs), input(n * 3 * d), hidden(n * rs);
    m.dense({query, 1, d, m.rel1.wt.data(), d, rs, m.rel1.bias.data(), base.data(), rs, false});
    for (size_t i = 0; i < n; ++i) m.relation_input(candidates[i], query, input.data() + i * 3 * d);
    m.dense({input.data(), n, 3 * d, m.rel1.wt.data() + d * rs, 3 * d, rs, base.data(), hidden.data(), rs, true});
    m.score(hidden.data(), n, scores);
}

void Inference::match(const std::vector<const Features *> &a, const std::vector<const Features *> &b, float *scores) const {
    if (a.size() != b.size()) throw std::invalid_argument("encoder inference: match needs as many a's as b's");
    const Impl &m = *impl_;
    const size_t n = a.size(), d = m.dim, rs = m.rel1.stride;
    if (n == 0) return;
    std::vector<float> u(n * d), v(n * d), input(n * 4 * d), hidden(n * rs);
    embed(a, u.data());
    embed(b, v.data());
    for (size_t i = 0; i < n; ++i) {
        float *row = input.data() + i * 4 * d;
        std::copy_n(v.data() + i * d, d, row);
        m.relation_input(u.data() + i * d, v.data() + i * d, row + d);
    }
    m.dense({input.data(), n, 4 * d, m.rel1.wt.data(), 4 * d, rs, m.rel1.bias.data(), hidden.data(), rs, true});
    m.score(hidden.data(), n, scores);
}

} // namespace encoder
