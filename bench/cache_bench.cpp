// Micro-benchmarks of the data plane: exact-lookup hits single- and multi-threaded, and what a
// policy call through the C ABI costs beside the same work done by a direct call.
// Run: build/bench/aicache_bench  (compare rows of one run; never a hard-coded time)
#include "bench_plugins.hpp"
#include "cache/cache.hpp"
#include "core/hash.hpp"
#include "loader/plugin_library.hpp"
#include "loader/policy_instance.hpp"

#include <aicache/sdk/key_index.hpp>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <random>
#include <cstring>
#include <map>
#include <mutex>

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

using namespace aicache;

namespace {

using bench::policy;

// A canonical key as the proxy builds it: the request's bytes are hot in cache when it looks up.
struct KeyBuffer {
    char bytes[96];
    size_t size;
    explicit KeyBuffer(size_t i) {
        static constexpr std::string_view prefix = "model=gpt|temperature=0|messages=[user: question number ";
        std::memcpy(bytes, prefix.data(), prefix.size());
        auto end = std::to_chars(bytes + prefix.size(), bytes + sizeof bytes - 1, i).ptr;
        *end++ = ']';
        size = static_cast<size_t>(end - bytes);
    }
    [[nodiscard]] std::string_view view() const { return {bytes, size}; }
};

struct Fixture {
    size_t entries;
    std::unique_ptr<cache::Cache> cache;
    Fixture(const std::string &name, size_t n) : entries(n) {
        auto created = cache::Cache::create({1ull << 34, 16, ""}, policy(name));
        if (!created) throw std::runtime_error(created.error().message());
        cache = std::move(created.value());
        const std::string answer(512, 'a');
        for (size_t i = 0; i < n; ++i) {
            KeyBuffer key(i);
            cache::InsertRequest r;
            r.key = {hash_key(key.view()), key.view()};
            r.value = answer; // copied: one answer per entry, as in real traffic
            (void)cache->insert(r, i);
        }
    }
};

Fixture &fixture(const std::string &name, size_t entries) {
    static std::mutex mutex;
    static std::map<std::pair<std::string, size_t>, std::unique_ptr<Fixture>> fixtures;
    std::lock_guard lock(mutex);
    auto &slot = fixtures[{name, entries}];
    if (!slot) slot = std::make_unique<Fixture>(name, entries);
    return *slot;
}

// Hash the canonical key, look it up, take a reference to the answer: the proxy's hit path.
void BM_LookupHit(benchmark::State &state, const std::string &name) {
    Fixture &f = fixture(name, static_cast<size_t>(state.range(0)));
    size_t i = static_cast<size_t>(state.thread_index()) * 7919;
    uint64_t now = 1'000'000;
    for (auto _ : state) {
        i = (i + 104729) % f.entries; // a large prime stride: no cache-friendly order
        KeyBuffer key(i);
        auto r = f.cache->lookup({hash_key(key.view()), key.view()}, ++now);
        benchmark::DoNotOptimize(r.hit);
    }
    state.SetItemsProcessed(state.iterations());
    state.counters["entries"] = benchmark::Counter(static_cast<double>(f.entries), benchmark::Counter::kAvgThreads);
}

// Real traffic is skewed: the same lookups with Zipf(0.99) popularity, as LLM prompts repeat.
void BM_LookupHitZipf(benchmark::State &state, const std::string &name) {
    Fixture &f = fixture(name, static_cast<size_t>(state.range(0)));
    static std::mutex mutex;
    static std::map<size_t, std::vector<uint32_t>> sequences;
    const std::vector<uint32_t> *sequence;
    {
        std::lock_guard lock(mutex);
        auto &seq = sequences[f.entries];
        if (seq.empty()) {
            std::vector<double> cdf(f.entries);
            double total = 0;
            for (size_t r = 0; r < f.entries; ++r) cdf[r] = total += 1.0 / std::pow(double(r + 1), 0.99);
            std::mt19937_64 rng(1);
            std::uniform_real_distribution<double> unit(0, total);
            seq.resize(1 << 20);
            // Rank r maps to a scattered entry, so hot entries are not neighbours in memory.
            for (auto &k : seq)
                k = static_cast<uint32_t>(((std::lower_bound(cdf.begin(), cdf.end(), unit(rng)) - cdf.begin()) * 104729ull) % f.entries);
        }
        sequence = &seq;
    }
    size_t i = static_cast<size_t>(state.thread_index()) * 7919;
    uint64_t now = 1'000'000;
    for (auto _ : state) {
        i = (i + 1) & (sequence->size() - 1);
        KeyBuffer key((*sequence)[i]);
        auto r = f.cache->lookup({hash_key(key.view()), key.view()}, ++now);
        benchmark::DoNotOptimize(r.hit);
    }
    state.SetItemsProcessed(state.iterations());
}

// The ABI call: SIEVE's on_hit (a hash-map find and a store) through the vtable and SDK trampoline.
void BM_PolicyHitThroughAbi(benchmark::State &state) {
    auto instance = loader::PolicyInstance::create(policy("sieve"), "{\"capacity_bytes\":1000000000}");
    if (!instance) throw std::runtime_error(instance.error().message());
    for (uint64_t k = 0; k < 10'000; ++k) (void)instance->insert({sizeof(aicache_entry_meta), 0, k, 1, 1, 0, 0, 0});
    aicache_entry_meta meta{sizeof(aicache_entry_meta), 0, 0, 1, 1, 0, 0, 1};
    uint64_t k = 0;
    for (auto _ : state) {
        meta.key = k = (k + 7) % 10'000;
        benchmark::DoNotOptimize(instance->hit(meta));
    }
}

// The same work as a direct (non-inlined) call with the same data structures SIEVE uses: find the
// key in a KeyIndex, set the visited bit of its node. The difference to the row above is the ABI.
struct DirectSieveHit {
    struct Node {
        uint64_t key;
        uint32_t prev, next;
        bool visited;
    };
    aicache::sdk::KeyIndex index;
    std::vector<Node> nodes;
    __attribute__((noinline)) void on_hit(const aicache_entry_meta &meta) {
        uint32_t i = index.find(meta.key);
        if (i != aicache::sdk::KeyIndex::npos) nodes[i].visited = true;
    }
};

void BM_PolicyHitDirect(benchmark::State &state) {
    DirectSieveHit direct;
    for (uint32_t k = 0; k < 10'000; ++k) {
        direct.index.set(k, k);
        direct.nodes.push_back({k, 0, 0, false});
    }
    aicache_entry_meta meta{sizeof(aicache_entry_meta), 0, 0, 1, 1, 0, 0, 1};
    uint64_t k = 0;
    for (auto _ : state) {
        meta.key = k = (k + 7) % 10'000;
        direct.on_hit(meta);
        benchmark::ClobberMemory();
    }
}

// What one dependent memory load costs at a given working set: the yardstick for the lookup
// figures above (a hit is a few dependent loads once the entries leave the CPU cache).
void BM_DependentLoad(benchmark::State &state) {
    const size_t lines = static_cast<size_t>(state.range(0)) * 1024 * 1024 / 64;
    std::vector<size_t> order(lines);
    for (size_t i = 0; i < lines; ++i) order[i] = i;
    std::shuffle(order.begin(), order.end(), std::mt19937_64(1));
    std::vector<size_t> next(lines * 8); // one index per 64-byte line
    for (size_t i = 0; i < lines; ++i) next[order[i] * 8] = order[(i + 1) % lines] * 8;
    size_t p = 0;
    for (auto _ : state) {
        p = next[p];
        benchmark::DoNotOptimize(p);
    }
    state.counters["MiB"] = static_cast<double>(state.range(0));
}

} // namespace

// Working sets from cache-resident (10 K entries) to far beyond the L3 (1 M entries).
BENCHMARK_CAPTURE(BM_LookupHit, lru, std::string("lru"))->Arg(10'000)->Arg(100'000)->Arg(1'000'000)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK_CAPTURE(BM_LookupHit, sieve, std::string("sieve"))->Arg(10'000)->Arg(100'000)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK_CAPTURE(BM_LookupHit, s3fifo, std::string("s3fifo"))->Arg(10'000)->Arg(100'000)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK_CAPTURE(BM_LookupHitZipf, sieve, std::string("sieve"))->Arg(100'000)->Arg(1'000'000)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK_CAPTURE(BM_LookupHitZipf, s3fifo, std::string("s3fifo"))->Arg(100'000)->Arg(1'000'000)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_DependentLoad)->Arg(1)->Arg(8)->Arg(128);
BENCHMARK(BM_PolicyHitThroughAbi);
BENCHMARK(BM_PolicyHitDirect);

