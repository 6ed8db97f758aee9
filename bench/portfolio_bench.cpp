// The SDK's portfolio (aicache/sdk/portfolio.hpp), the structure behind the history template's
// experts: what following a leader and voting cost beside the best expert alone, on the demo's
// workload at a tenth of its footprint, each replayed by the replay simulator through the C ABI,
// in one run (compare the ratios, not the times).
#include "bench_plugins.hpp"
#include "replay/replay.hpp"

#include <aicache/sdk/policy.hpp>
#include <aicache/sdk/portfolio.hpp>
#include <aicache/sdk/reference/arc.hpp>
#include <aicache/sdk/reference/gdsf.hpp>
#include <aicache/sdk/reference/lru.hpp>
#include <aicache/sdk/reference/s3fifo.hpp>

#include <benchmark/benchmark.h>

#include <optional>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

using namespace aicache;

namespace {

namespace ref = aicache::sdk::reference;

// One expert type over four reference policies, as the history template's ExpertPolicy is.
class Expert {
public:
    template <class Policy>
    Expert(std::in_place_type_t<Policy> which, const sdk::Config &config) : policy_(which, config) {}
    void on_insert(const aicache_entry_meta &m) { std::visit([&](auto &p) { p.on_insert(m); }, policy_); }
    void on_hit(const aicache_entry_meta &m) { std::visit([&](auto &p) { p.on_hit(m); }, policy_); }
    void on_remove(uint64_t key) { std::visit([&](auto &p) { p.on_remove(key); }, policy_); }
    std::optional<uint64_t> victim() { return std::visit([](auto &p) { return p.victim(); }, policy_); }
    void clear() { std::visit([](auto &p) { p.clear(); }, policy_); }

private:
    std::variant<ref::Lru, ref::Arc, ref::S3Fifo, ref::Gdsf> policy_;
};

const replay::Trace &workload() {
    static const replay::Trace trace = replay::generate_workload({}); // the demo's 1 M requests
    return trace;
}

// The portfolio as a policy plugin, so that it is replayed exactly as a history patch is: through
// the C ABI and the replay simulator. S3-FIFO leads first; `vote` comes from the parameters.
class BenchPortfolio : public sdk::Portfolio<Expert> {
public:
    explicit BenchPortfolio(const sdk::Config &config) : sdk::Portfolio<Expert>(experts(config), options(config)) {}

private:
    static std::vector<Expert> experts(const sdk::Config &config) {
        std::vector<Expert> all;
        all.emplace_back(std::in_place_type<ref::Lru>, config);
        all.emplace_back(std::in_place_type<ref::Arc>, config);
        all.emplace_back(std::in_place_type<ref::S3Fifo>, config);
        all.emplace_back(std::in_place_type<ref::Gdsf>, config);
        return all;
    }
    static Options options(const sdk::Config &config) {
        return {.capacity_bytes = config.unsigned_integer("capacity_bytes", UINT64_MAX), .first = 2, .vote = config.number("vote", 0)};
    }
};

AICACHE_POLICY_PLUGIN(BenchPortfolio, "bench_portfolio", "1.0.0")

std::shared_ptr<const loader::PluginLibrary> portfolio_library() {
    auto library = loader::PluginLibrary::from_entry(&aicache_plugin_init, nullptr, "bench_portfolio", "in-process");
    if (!library) throw std::runtime_error(library.error().message());
    return *library;
}

void replay_at_a_tenth(benchmark::State &state, const std::shared_ptr<const loader::PluginLibrary> &library, const std::string &parameters) {
    const replay::Trace &trace = workload();
    replay::ReplayOptions options;
    options.capacity_bytes = trace.footprint_bytes / 10;
    options.policy_parameters = parameters;
    double hit_ratio = 0;
    for (auto _ : state) {
        auto result = replay::run_replay(trace, library, options);
        if (!result) return state.SkipWithError(result.error().message().c_str());
        hit_ratio = result->hit_ratio();
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * trace.requests.size()));
    state.counters["hit%"] = 100.0 * hit_ratio;
}

// Each expert alone, as its built-in plugin: the portfolio is worth its price only above the best.
const char *const kExperts[] = {"lru", "arc", "s3fifo", "gdsf"}; // the portfolio's, in its order

void BM_ExpertAlone(benchmark::State &state) {
    const char *name = kExperts[state.range(0)];
    state.SetLabel(name);
    replay_at_a_tenth(state, bench::policy(name), "{}");
}

// vote 0: the real cache follows the leading expert; above 0: the experts evict together.
void BM_Portfolio(benchmark::State &state) {
    static const auto library = portfolio_library();
    replay_at_a_tenth(state, library, "{\"vote\": " + std::to_string(state.range(0)) + "}");
}

} // namespace

BENCHMARK(BM_ExpertAlone)->ArgName("expert")->DenseRange(0, 3)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Portfolio)->ArgName("vote")->Arg(0)->Arg(3000)->Unit(benchmark::kMillisecond);
