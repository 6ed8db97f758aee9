// The replay simulator must be a faithful model of the data plane's cache: for every policy, at
// byte and object capacities, with TTLs and admission refusals, it gives the same hits and
// evictions as cache::Cache with one shard. Otherwise every figure an optimizer measures would be
// about a cache aicache does not run.
#include "replay/replay.hpp"
#include "test_support.hpp"

#include <doctest/doctest.h>

using namespace aicache;

namespace {

replay::Trace variable_size_trace() {
    replay::GeneratorOptions o;
    o.seed = 11;
    o.requests = 40'000;
    o.objects = 4'000;
    o.drift_every = 8'000;
    o.drift_step = 400;
    return replay::generate_workload(o);
}

replay::ReplayResult replay_with(const replay::Trace &trace, const std::filesystem::path &plugin, replay::CacheSize size,
                                 replay::Engine engine) {
    auto library = loader::PluginLibrary::load_file(plugin);
    REQUIRE(library);
    replay::ReplayOptions options;
    options.capacity_bytes = size.amount;
    options.count_objects = size.objects;
    options.engine = engine;
    auto result = replay::run_replay(trace, *library, options);
    REQUIRE(result);
    return *result;
}

void check_same(const replay::Trace &trace, const std::filesystem::path &plugin, replay::CacheSize size) {
    auto simulated = replay_with(trace, plugin, size, replay::Engine::simulator);
    auto cached = replay_with(trace, plugin, size, replay::Engine::cache);
    INFO(plugin.stem().string() << " at " << size.amount << (size.objects ? " objects" : " bytes"));
    CHECK(simulated.hits == cached.hits);
    CHECK(simulated.bytes_hit == cached.bytes_hit);
    CHECK(simulated.evictions == cached.evictions);
    CHECK(simulated.refused == cached.refused);
    CHECK(simulated.policy_errors == 0);
    CHECK(cached.policy_errors == 0);
}

} // namespace

TEST_CASE("the replay simulator gives the cache's hits for every policy, in bytes and in objects") {
    const auto trace = variable_size_trace();
    for (const char *policy : {"lru", "fifo", "lfu", "arc", "sieve", "s3fifo", "gdsf", "lecar", "lirs", "wtinylfu"}) {
        for (const char *size : {"1%", "10%", "2%obj"}) {
            auto parsed = replay::parse_cache_size(size, trace);
            REQUIRE(parsed);
            check_same(trace, test::plugin_path(policy), *parsed);
        }
    }
}

TEST_CASE("the replay simulator expires and refuses entries as the cache does") {
    // The fixture gives every entry a 2 s TTL and admits only entries up to 4 KiB; the generated
    // trace runs at 200 requests a second, so entries expire all the time.
    const auto trace = variable_size_trace();
    auto simulated = replay_with(trace, test::fixture_path("expiring"), {trace.footprint_bytes / 10, false}, replay::Engine::simulator);
    auto cached = replay_with(trace, test::fixture_path("expiring"), {trace.footprint_bytes / 10, false}, replay::Engine::cache);
    CHECK(simulated.hits == cached.hits);
    CHECK(simulated.evictions == cached.evictions);
    CHECK(simulated.expirations == cached.expirations);
    CHECK(simulated.refused == cached.refused);
    CHECK(simulated.expirations > 1000);
    CHECK(simulated.refused > 100);
    CHECK(simulated.hits > 0);
}
