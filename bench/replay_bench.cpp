// Replay throughput, the figure the optimizers live on: the lean simulator beside the data
// plane's own cache, same trace, same policy, in one run (compare the ratio, not the times).
#include "bench_plugins.hpp"
#include "replay/replay.hpp"

#include <benchmark/benchmark.h>

using namespace aicache;

namespace {

const replay::Trace &workload() {
    static const replay::Trace trace = replay::generate_workload({}); // the demo's 1 M requests
    return trace;
}

void BM_Replay(benchmark::State &state, const std::string &name, replay::Engine engine) {
    const replay::Trace &trace = workload();
    auto library = bench::policy(name);
    replay::ReplayOptions options;
    options.capacity_bytes = trace.footprint_bytes / 10;
    options.engine = engine;
    for (auto _ : state) {
        auto result = replay::run_replay(trace, library, options);
        if (!result) state.SkipWithError(result.error().message().c_str());
        benchmark::DoNotOptimize(result);
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * trace.requests.size()));
}

} // namespace

BENCHMARK_CAPTURE(BM_Replay, lru_simulator, std::string("lru"), replay::Engine::simulator)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Replay, lru_cache, std::string("lru"), replay::Engine::cache)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Replay, s3fifo_simulator, std::string("s3fifo"), replay::Engine::simulator)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Replay, wtinylfu_simulator, std::string("wtinylfu"), replay::Engine::simulator)->Unit(benchmark::kMillisecond);
