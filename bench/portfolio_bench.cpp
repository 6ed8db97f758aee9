// The SDK's portfolio (aicache/sdk/portfolio.hpp), the structure behind the history template's
// experts: what following a leader and voting cost beside the best expert alone, on the demo's
// workload at a tenth of its footprint, in one run (compare the ratios, not the times).
#include "replay/replay.hpp"

#include <aicache/sdk/portfolio.hpp>
#include <aicache/sdk/reference/arc.hpp>
#include <aicache/sdk/reference/gdsf.hpp>
#include <aicache/sdk/reference/lru.hpp>
#include <aicache/sdk/reference/s3fifo.hpp>

#include <benchmark/benchmark.h>

#include <optional>
#include <string>
#include <unordered_map>
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

// Drives a policy the way the host does (a hit, or admit, then victims until the newcomer fits,
// then insert) and returns the hits.
template <class Policy>
uint64_t drive(Policy &policy, const replay::Trace &trace, uint64_t capacity) {
    std::unordered_map<uint64_t, uint64_t> cached; // key -> size
    uint64_t bytes = 0, hits = 0;
    for (const replay::Request &request : trace.requests) {
        aicache_entry_meta meta{};
        meta.struct_size = sizeof meta;
        meta.key = request.id;
        meta.size_bytes = request.size;
        meta.cost = request.cost;
        if (cached.count(request.id)) {
            policy.on_hit(meta);
            ++hits;
            continue;
        }
        if (request.size > capacity) continue;
        if constexpr (requires { policy.admit(meta); })
            if (!policy.admit(meta)) continue;
        while (bytes + request.size > capacity) {
            const std::optional<uint64_t> gone = policy.victim();
            if (!gone) break;
            const auto at = cached.find(*gone);
            if (at == cached.end()) break;
            bytes -= at->second;
            cached.erase(at);
            policy.on_remove(*gone);
        }
        if (bytes + request.size > capacity) continue;
        cached.emplace(request.id, request.size);
        bytes += request.size;
        policy.on_insert(meta);
    }
    return hits;
}

sdk::Config config_for(uint64_t capacity) { return sdk::Config::parse("{\"capacity_bytes\": " + std::to_string(capacity) + "}"); }

void report(benchmark::State &state, uint64_t hits) {
    const auto requests = static_cast<int64_t>(workload().requests.size());
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * requests);
    state.counters["hit%"] = 100.0 * double(hits) / double(requests);
}

void BM_ExpertAlone(benchmark::State &state) {
    const uint64_t capacity = workload().footprint_bytes / 10;
    uint64_t hits = 0;
    for (auto _ : state) {
        ref::S3Fifo policy(config_for(capacity));
        hits = drive(policy, workload(), capacity);
    }
    report(state, hits);
}

// vote 0: the real cache follows the leading expert; above 0: the experts evict together.
void BM_Portfolio(benchmark::State &state) {
    const uint64_t capacity = workload().footprint_bytes / 10;
    const sdk::Config config = config_for(capacity);
    uint64_t hits = 0;
    for (auto _ : state) {
        std::vector<Expert> experts;
        experts.emplace_back(std::in_place_type<ref::Lru>, config);
        experts.emplace_back(std::in_place_type<ref::Arc>, config);
        experts.emplace_back(std::in_place_type<ref::S3Fifo>, config);
        experts.emplace_back(std::in_place_type<ref::Gdsf>, config);
        sdk::Portfolio<Expert> portfolio(std::move(experts), {.capacity_bytes = capacity, .first = 2, .vote = double(state.range(0))});
        hits = drive(portfolio, workload(), capacity);
    }
    report(state, hits);
}

} // namespace

BENCHMARK(BM_ExpertAlone)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Portfolio)->ArgName("vote")->Arg(0)->Arg(3000)->Unit(benchmark::kMillisecond);
