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

namespace {
// The replay the stretch tests compare: a cache of 5% of the trace's footprint, through `engine`.
replay::ReplayOptions stretch_options(const replay::Trace &trace, replay::Engine engine) {
    replay::ReplayOptions options;
    options.capacity_bytes = trace.footprint_bytes / 20;
    options.engine = engine;
    return options;
}
} // namespace

TEST_CASE("a measured stretch counts only its own requests, from the cache the requests before it left, in both engines") {
    const replay::Trace trace = variable_size_trace();
    auto library = loader::PluginLibrary::load_file(test::plugin_path("s3fifo"));
    REQUIRE(library);
    for (replay::Engine engine : {replay::Engine::simulator, replay::Engine::cache}) {
        replay::ReplayOptions options = stretch_options(trace, engine);
        auto prefix = [&](uint64_t end) {
            replay::ReplayOptions o = options;
            o.measure_to = end;
            auto r = replay::run_replay(trace, *library, o);
            REQUIRE(r);
            return *r;
        };
        options.measure_from = 10'000, options.measure_to = 25'000;
        auto stretch = replay::run_replay(trace, *library, options);
        REQUIRE(stretch);
        const replay::ReplayResult to_start = prefix(10'000), to_end = prefix(25'000);
        CHECK(stretch->requests == 15'000);
        CHECK(stretch->hits == to_end.hits - to_start.hits);
        CHECK(stretch->cost_hit == to_end.cost_hit - to_start.cost_hit);
        CHECK(stretch->cost_requested == to_end.cost_requested - to_start.cost_requested);
        // Warm: the same requests from an empty cache hit less.
        replay::Trace alone;
        alone.requests.assign(trace.requests.begin() + 10'000, trace.requests.begin() + 25'000);
        options.measure_from = 0, options.measure_to = UINT64_MAX;
        auto cold = replay::run_replay(alone, *library, options);
        REQUIRE(cold);
        CHECK(cold->hits < stretch->hits);
    }
}

TEST_CASE("chunked hits are the hits of consecutive stretches of the measured requests, in both engines") {
    const replay::Trace trace = variable_size_trace();
    auto library = loader::PluginLibrary::load_file(test::plugin_path("s3fifo"));
    REQUIRE(library);
    for (replay::Engine engine : {replay::Engine::simulator, replay::Engine::cache}) {
        replay::ReplayOptions options = stretch_options(trace, engine);
        options.measure_from = 10'000, options.measure_to = 25'000;
        options.chunks = 3; // 10,000-15,000, 15,000-20,000, 20,000-25,000
        auto chunked = replay::run_replay(trace, *library, options);
        REQUIRE(chunked);
        REQUIRE(chunked->chunk_hits.size() == 3);
        uint64_t sum = 0;
        for (size_t c = 0; c < 3; ++c) {
            replay::ReplayOptions stretch = options;
            stretch.chunks = 0;
            stretch.measure_from = 10'000 + 5'000 * c, stretch.measure_to = 15'000 + 5'000 * c;
            auto alone = replay::run_replay(trace, *library, stretch);
            REQUIRE(alone);
            CHECK(chunked->chunk_hits[c] == alone->hits);
            sum += chunked->chunk_hits[c];
        }
        CHECK(sum == chunked->hits);
        CHECK(chunked->hits > 0);
    }
}
