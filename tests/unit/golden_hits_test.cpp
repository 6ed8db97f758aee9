// Pinned hit counts: a change in a policy's behaviour fails here loudly. LRU is also checked
// against an independent textbook implementation, and SIEVE against a hand-worked example.
#include "core/hash.hpp"
#include "loader/policy_instance.hpp"
#include "replay/belady.hpp"
#include "replay/replay.hpp"
#include "test_support.hpp"

#include <doctest/doctest.h>

#include <list>
#include <unordered_map>

using namespace aicache;

namespace {

// Measured on the trace below when each policy was written; update only with a reason.
constexpr uint64_t GOLDEN_LRU_1 = 11388, GOLDEN_LRU_10 = 26315;
constexpr uint64_t GOLDEN_SIEVE_1 = 16732, GOLDEN_SIEVE_10 = 25298;
constexpr uint64_t GOLDEN_S3FIFO_1 = 17395, GOLDEN_S3FIFO_10 = 27882;
constexpr uint64_t GOLDEN_FIFO_1 = 9716, GOLDEN_FIFO_10 = 24063;
constexpr uint64_t GOLDEN_LFU_1 = 11934, GOLDEN_LFU_10 = 20113;
constexpr uint64_t GOLDEN_ARC_1 = 17021, GOLDEN_ARC_10 = 28448;
constexpr uint64_t GOLDEN_GDSF_1 = 14140, GOLDEN_GDSF_10 = 26782;
constexpr uint64_t GOLDEN_LECAR_1 = 16440, GOLDEN_LECAR_10 = 28257;
constexpr uint64_t GOLDEN_LIRS_1 = 12534, GOLDEN_LIRS_10 = 28677;
constexpr uint64_t GOLDEN_WTINYLFU_1 = 16670, GOLDEN_WTINYLFU_10 = 27174;
constexpr uint64_t GOLDEN_BELADY_1 = 22343, GOLDEN_BELADY_10 = 35453;

replay::Trace small_trace() {
    replay::GeneratorOptions o;
    o.seed = 7;
    o.requests = 50'000;
    o.objects = 5'000;
    o.drift_every = 10'000;
    o.drift_step = 500;
    return replay::generate_workload(o);
}

uint64_t hits(const replay::Trace &trace, const std::string &policy, uint64_t capacity) {
    auto library = loader::PluginLibrary::load_file(test::plugin_path(policy));
    REQUIRE(library);
    replay::ReplayOptions options;
    options.capacity_bytes = capacity;
    auto result = replay::run_replay(trace, *library, options);
    REQUIRE(result);
    CHECK(result->policy_errors == 0);
    return result->hits;
}

// Byte-capacity LRU written from the definition, sharing no code with the plugin.
uint64_t reference_lru_hits(const replay::Trace &trace, uint64_t capacity) {
    std::list<std::pair<uint64_t, uint64_t>> order; // front = most recent
    std::unordered_map<uint64_t, decltype(order)::iterator> where;
    uint64_t used = 0, hit_count = 0;
    for (const auto &r : trace.requests) {
        if (auto it = where.find(r.id); it != where.end()) {
            ++hit_count;
            order.splice(order.begin(), order, it->second);
            continue;
        }
        if (r.size > capacity) continue;
        while (used + r.size > capacity) {
            used -= order.back().second;
            where.erase(order.back().first);
            order.pop_back();
        }
        order.emplace_front(r.id, r.size);
        where[r.id] = order.begin();
        used += r.size;
    }
    return hit_count;
}

replay::Trace keys(std::initializer_list<uint64_t> ids) {
    replay::Trace t;
    uint64_t time = 0;
    for (uint64_t id : ids) t.requests.push_back({++time, id, 1, 1});
    replay::summarize(t);
    return t;
}

} // namespace

TEST_CASE("lru_matches_an_independent_reference_implementation") {
    auto trace = small_trace();
    for (uint64_t capacity : {trace.footprint_bytes / 100, trace.footprint_bytes / 10, trace.footprint_bytes / 3}) {
        INFO("capacity " << capacity);
        CHECK(hits(trace, "lru", capacity) == reference_lru_hits(trace, capacity));
    }
}

TEST_CASE("sieve_keeps_a_visited_entry_that_lru_would_evict") {
    // Capacity 3. A B C, hit A, then D E F. SIEVE's hand clears A's bit once and evicts B, C, D;
    // LRU evicts B, C, A. The last request (A) hits only under SIEVE.
    auto trace = keys({1, 2, 3, 1, 4, 5, 6, 1});
    CHECK(hits(trace, "sieve", 3) == 2);
    CHECK(hits(trace, "lru", 3) == 1);
}

TEST_CASE("s3fifo_lets_one_hit_wonders_leave_through_the_small_queue") {
    // Capacity 10: a working set of 5 keys read twice, then a scan of 50 new keys, then the set
    // again. The scan passes through S (10%) and the ghost; the re-read set survives in M.
    std::vector<uint64_t> ids;
    for (int round = 0; round < 3; ++round)
        for (uint64_t k = 1; k <= 5; ++k) ids.push_back(k);
    for (uint64_t k = 100; k < 150; ++k) ids.push_back(k);
    for (uint64_t k = 1; k <= 5; ++k) ids.push_back(k);
    replay::Trace t;
    uint64_t time = 0;
    for (uint64_t id : ids) t.requests.push_back({++time, id, 1, 1});
    replay::summarize(t);
    uint64_t s3 = hits(t, "s3fifo", 10), lru = hits(t, "lru", 10);
    CHECK(s3 == 15); // 10 re-reads + all 5 after the scan
    CHECK(lru == 10); // the scan flushed LRU
}

TEST_CASE("golden_hit_counts_on_the_generated_trace") {
    auto trace = small_trace();
    REQUIRE(trace.requests.size() == 50'000);
    const uint64_t one_percent = trace.footprint_bytes / 100, ten_percent = trace.footprint_bytes / 10;
    MESSAGE("footprint " << trace.footprint_bytes);
    CHECK(hits(trace, "lru", one_percent) == GOLDEN_LRU_1);
    CHECK(hits(trace, "lru", ten_percent) == GOLDEN_LRU_10);
    CHECK(hits(trace, "sieve", one_percent) == GOLDEN_SIEVE_1);
    CHECK(hits(trace, "sieve", ten_percent) == GOLDEN_SIEVE_10);
    CHECK(hits(trace, "s3fifo", one_percent) == GOLDEN_S3FIFO_1);
    CHECK(hits(trace, "s3fifo", ten_percent) == GOLDEN_S3FIFO_10);
    CHECK(hits(trace, "fifo", one_percent) == GOLDEN_FIFO_1);
    CHECK(hits(trace, "fifo", ten_percent) == GOLDEN_FIFO_10);
    CHECK(hits(trace, "lfu", one_percent) == GOLDEN_LFU_1);
    CHECK(hits(trace, "lfu", ten_percent) == GOLDEN_LFU_10);
    CHECK(hits(trace, "arc", one_percent) == GOLDEN_ARC_1);
    CHECK(hits(trace, "arc", ten_percent) == GOLDEN_ARC_10);
    CHECK(hits(trace, "gdsf", one_percent) == GOLDEN_GDSF_1);
    CHECK(hits(trace, "gdsf", ten_percent) == GOLDEN_GDSF_10);
    CHECK(hits(trace, "lecar", one_percent) == GOLDEN_LECAR_1);
    CHECK(hits(trace, "lecar", ten_percent) == GOLDEN_LECAR_10);
    CHECK(hits(trace, "lirs", one_percent) == GOLDEN_LIRS_1);
    CHECK(hits(trace, "lirs", ten_percent) == GOLDEN_LIRS_10);
    CHECK(hits(trace, "wtinylfu", one_percent) == GOLDEN_WTINYLFU_1);
    CHECK(hits(trace, "wtinylfu", ten_percent) == GOLDEN_WTINYLFU_10);
    CHECK(replay::run_belady(trace, one_percent).hits == GOLDEN_BELADY_1);
    CHECK(replay::run_belady(trace, ten_percent).hits == GOLDEN_BELADY_10);
}

TEST_CASE("fifo_matches_an_independent_reference_implementation") {
    auto trace = small_trace();
    const uint64_t capacity = trace.footprint_bytes / 10;
    std::list<std::pair<uint64_t, uint64_t>> queue; // front = newest
    std::unordered_map<uint64_t, bool> resident;
    uint64_t used = 0, expected = 0;
    for (const auto &r : trace.requests) {
        if (resident.count(r.id)) {
            ++expected;
            continue;
        }
        while (used + r.size > capacity) {
            used -= queue.back().second;
            resident.erase(queue.back().first);
            queue.pop_back();
        }
        queue.emplace_front(r.id, r.size);
        resident[r.id] = true;
        used += r.size;
    }
    CHECK(hits(trace, "fifo", capacity) == expected);
}

TEST_CASE("belady_is_the_optimum_for_unit_sizes_and_bounds_every_policy") {
    // Capacity 2: 1 1 2 3 4 5 6 1 - the clairvoyant cache keeps 1 for its last request.
    CHECK(replay::run_belady(keys({1, 1, 2, 3, 4, 5, 6, 1}), 2).hits == 2);
    // A B C A B C with room for 2: C is needed after both A and B, so it is not admitted; A and B hit.
    CHECK(replay::run_belady(keys({1, 2, 3, 1, 2, 3}), 2).hits == 2);
    auto trace = small_trace();
    for (uint64_t capacity : {trace.footprint_bytes / 100, trace.footprint_bytes / 10}) {
        uint64_t bound = replay::run_belady(trace, capacity).hits;
        for (const char *policy : {"lru", "fifo", "lfu", "arc", "sieve", "s3fifo", "gdsf", "lecar", "lirs", "wtinylfu"}) {
            INFO(policy << " at " << capacity);
            CHECK(hits(trace, policy, capacity) <= bound);
        }
    }
}

TEST_CASE("a_warm_swap_mid_replay_changes_no_hit_and_a_cold_one_starts_from_the_resident_set") {
    auto trace = small_trace();
    const uint64_t capacity = trace.footprint_bytes / 20;
    auto s3fifo = loader::PluginLibrary::load_file(test::plugin_path("s3fifo"));
    auto s3fifo_again = loader::PluginLibrary::load_file(test::plugin_path("s3fifo"));
    auto lru = loader::PluginLibrary::load_file(test::plugin_path("lru"));
    REQUIRE(s3fifo);
    REQUIRE(s3fifo_again);
    REQUIRE(lru);
    replay::ReplayOptions plain;
    plain.capacity_bytes = capacity;
    auto uninterrupted = replay::run_replay(trace, *s3fifo, plain);
    REQUIRE(uninterrupted);

    replay::ReplayOptions warm = plain;
    warm.swap_after = trace.requests.size() / 2;
    warm.swap_to = *s3fifo_again;
    auto warm_run = replay::run_replay(trace, *s3fifo, warm);
    REQUIRE(warm_run);
    CHECK(warm_run->warm_swaps == 1);
    CHECK(warm_run->hits == uninterrupted->hits);

    replay::ReplayOptions cold = warm;
    auto cold_run = replay::run_replay(trace, *lru, cold);
    REQUIRE(cold_run);
    CHECK(cold_run->cold_swaps == 1);
    CHECK(cold_run->policy_errors == 0);
    CHECK(cold_run->hits > hits(trace, "lru", capacity)); // s3fifo beats lru here, and takes over halfway
}

TEST_CASE("gdsf_keeps_the_answer_that_cost_more_tokens") {
    auto library = loader::PluginLibrary::load_file(test::plugin_path("gdsf"));
    REQUIRE(library);
    auto policy = loader::PolicyInstance::create(*library, "{\"capacity_bytes\":1000}");
    REQUIRE(policy);
    aicache_entry_meta expensive{sizeof(aicache_entry_meta), 0, 1, 100, 5000, 0, 0, 0};
    aicache_entry_meta cheap{sizeof(aicache_entry_meta), 0, 2, 100, 10, 1, 1, 0};
    REQUIRE(policy->insert(expensive) == AICACHE_OK);
    REQUIRE(policy->insert(cheap) == AICACHE_OK); // newer, but cheaper
    uint64_t key = 0;
    REQUIRE(policy->victim(key) == AICACHE_OK);
    CHECK(key == 2);
    // With cost_weight 0 it is size-aware LFU: the older of two equal entries goes first.
    auto by_size = loader::PolicyInstance::create(*library, "{\"capacity_bytes\":1000,\"cost_weight\":0}");
    REQUIRE(by_size);
    REQUIRE(by_size->insert(expensive) == AICACHE_OK);
    REQUIRE(by_size->insert(cheap) == AICACHE_OK);
    REQUIRE(by_size->victim(key) == AICACHE_OK);
    CHECK(key == 1);
}

TEST_CASE("lirs_holds_a_loop_that_lru_cannot") {
    // 20 rounds over 100 keys with room for 50: LRU always evicts the key needed next.
    std::vector<uint64_t> ids;
    for (int round = 0; round < 20; ++round)
        for (uint64_t k = 1; k <= 100; ++k) ids.push_back(k);
    replay::Trace t;
    uint64_t time = 0;
    for (uint64_t id : ids) t.requests.push_back({++time, id, 1, 1});
    replay::summarize(t);
    CHECK(hits(t, "lru", 50) == 0);
    uint64_t lirs = hits(t, "lirs", 50), bound = replay::run_belady(t, 50).hits;
    CHECK(lirs >= bound * 9 / 10); // within 10% of the clairvoyant cache
}

TEST_CASE("every_policy_survives_caches_that_hold_only_a_few_objects") {
    // Objects here are ~1.5 KB on average: these capacities hold zero to a handful of them, where
    // the LIR/HIR, window and ghost shares of the adaptive policies round to almost nothing.
    replay::GeneratorOptions o;
    o.requests = 3000;
    o.objects = 300;
    auto trace = replay::generate_workload(o);
    for (const char *policy : {"lru", "fifo", "lfu", "arc", "sieve", "s3fifo", "gdsf", "lecar", "lirs", "wtinylfu"})
        for (uint64_t capacity : {uint64_t(100), uint64_t(2000), uint64_t(5000), trace.footprint_bytes / 50}) {
            INFO(policy << " at " << capacity << " bytes");
            hits(trace, policy, capacity); // checks policy_errors == 0
        }
}

TEST_CASE("sizes_in_objects_count_every_entry_as_one") {
    auto trace = small_trace(); // variable sizes
    replay::Trace unit = trace;
    for (auto &r : unit.requests) r.size = 1;
    replay::summarize(unit);
    auto objects = replay::parse_cache_size("10%obj", trace);
    REQUIRE(objects);
    CHECK(objects->objects);
    CHECK(objects->amount == trace.distinct_objects / 10);
    auto lru = loader::PluginLibrary::load_file(test::plugin_path("lru"));
    REQUIRE(lru);
    replay::ReplayOptions by_count;
    by_count.capacity_bytes = objects->amount;
    by_count.count_objects = true;
    auto counted = replay::run_replay(trace, *lru, by_count);
    REQUIRE(counted);
    CHECK(counted->hits == hits(unit, "lru", objects->amount));
    CHECK(replay::run_belady(trace, objects->amount, true).hits == replay::run_belady(unit, objects->amount).hits);
    CHECK_FALSE(replay::parse_cache_size("lotsobj", trace));
    CHECK(replay::parse_cache_size("250obj", trace)->amount == 250);
}
