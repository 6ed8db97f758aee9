// The semantic index's search beside an exact scan over the same vectors, at 10 K and 100 K
// entries of 128 dimensions (the encoder's), one thread. Built once per size and shared.
#include "cache/semantic_index.hpp"
#include "loader/learner_instance.hpp"

#include <benchmark/benchmark.h>

#include <cmath>
#include <map>
#include <memory>
#include <random>

namespace {

constexpr size_t kDim = 128;

struct Fixture {
    std::vector<std::vector<float>> points, queries;
    std::unique_ptr<aicache::cache::SemanticIndex> index;
};

std::vector<float> unit(std::mt19937_64 &rng) {
    std::normal_distribution<float> normal;
    std::vector<float> v(kDim);
    double norm = 0;
    for (float &x : v) x = normal(rng), norm += double(x) * x;
    for (float &x : v) x = float(x / std::sqrt(norm));
    return v;
}

Fixture &fixture(size_t n) {
    static std::map<size_t, Fixture> built;
    auto [it, fresh] = built.try_emplace(n);
    if (fresh) {
        std::mt19937_64 rng(n);
        it->second.index = std::make_unique<aicache::cache::SemanticIndex>(kDim);
        for (size_t i = 0; i < n; ++i) {
            it->second.points.push_back(unit(rng));
            (void)it->second.index->add(1, i, it->second.points.back());
        }
        for (int q = 0; q < 256; ++q) it->second.queries.push_back(unit(rng));
    }
    return it->second;
}

void BM_SemanticSearchHnsw(benchmark::State &state) {
    Fixture &f = fixture(size_t(state.range(0)));
    size_t q = 0;
    for (auto _ : state) benchmark::DoNotOptimize(f.index->search(1, f.queries[q++ % f.queries.size()], 8));
}
BENCHMARK(BM_SemanticSearchHnsw)->Arg(10'000)->Arg(100'000)->Unit(benchmark::kMicrosecond);

void BM_SemanticSearchExactScan(benchmark::State &state) {
    Fixture &f = fixture(size_t(state.range(0)));
    size_t q = 0;
    for (auto _ : state) {
        const auto &query = f.queries[q++ % f.queries.size()];
        float best = -2;
        size_t best_key = 0;
        for (size_t i = 0; i < f.points.size(); ++i) {
            float dot = 0;
            for (size_t d = 0; d < kDim; ++d) dot += f.points[i][d] * query[d];
            if (dot > best) best = dot, best_key = i;
        }
        benchmark::DoNotOptimize(best_key);
    }
}
BENCHMARK(BM_SemanticSearchExactScan)->Arg(10'000)->Arg(100'000)->Unit(benchmark::kMicrosecond);

} // namespace

// The whole semantic lookup the proxy makes on an exact miss, with the real encoder plugin
// (untrained weights cost the same as trained ones): embed the question, search 100 K entries of
// its dimension, re-score the 4 nearest with the relation head.
namespace {

struct EncoderFixture {
    std::shared_ptr<const aicache::loader::PluginLibrary> library;
    std::unique_ptr<aicache::loader::LearnerInstance> encoder;
};

EncoderFixture &encoder_fixture() {
    static EncoderFixture f = [] {
        EncoderFixture made;
        auto library = aicache::loader::PluginLibrary::load_file(std::string(AICACHE_BENCH_BUILD_DIR) + "/lib/aicache/plugins/encoder.so");
        if (!library) return made;
        made.library = *library;
        auto instance = aicache::loader::LearnerInstance::create(made.library, "{}");
        if (instance) made.encoder = std::make_unique<aicache::loader::LearnerInstance>(std::move(*instance));
        return made;
    }();
    return f;
}

void BM_EncoderEmbedOneQuestion(benchmark::State &state) {
    auto &f = encoder_fixture();
    if (!f.encoder) return state.SkipWithError("encoder plugin not built");
    size_t dim = 0;
    for (auto _ : state) benchmark::DoNotOptimize(f.encoder->embed({"how do I sort a list of dictionaries by a value in python?"}, dim));
}
BENCHMARK(BM_EncoderEmbedOneQuestion)->Unit(benchmark::kMicrosecond);

void BM_SemanticLookupEmbedSearchRescore(benchmark::State &state) {
    auto &f = encoder_fixture();
    if (!f.encoder) return state.SkipWithError("encoder plugin not built");
    Fixture &index = fixture(100'000);
    const std::string question = "how do I sort a list of dictionaries by a value in python?";
    std::vector<std::pair<std::string, std::string>> pairs(4, {"how can I sort a python list of dicts by one key?", question});
    for (auto _ : state) {
        size_t dim = 0;
        auto v = f.encoder->embed({question}, dim);
        benchmark::DoNotOptimize(index.index->search(1, *v, 4));
        benchmark::DoNotOptimize(f.encoder->match(pairs));
    }
}
BENCHMARK(BM_SemanticLookupEmbedSearchRescore)->Unit(benchmark::kMicrosecond);

} // namespace
