// A canary judged against its shards' own figures before the change (difference in differences):
// a shard that always answers less often than the others is not a change gone bad, and a drop on
// the canary shards that the others do not share is.
#include "cache/cache.hpp"
#include "patches/canary_split.hpp"
#include "patches/shard_history.hpp"
#include "test_support.hpp"

#include <doctest/doctest.h>

using namespace aicache;

namespace {

struct TwoShards {
    std::unique_ptr<cache::Cache> cache;
    std::string present[2] = {"present-0", "present-1"}, absent = "absent";
    uint64_t next_absent = 0;

    TwoShards() {
        auto library = loader::PluginLibrary::load_file(test::plugin_path("lru"));
        REQUIRE(library);
        auto created = cache::Cache::create({1 << 20, 2, ""}, *library);
        REQUIRE(created);
        cache = std::move(*created);
        for (uint32_t s = 0; s < 2; ++s) {
            cache::InsertRequest r;
            r.key = key(s, 0, present[s]);
            r.value = "answer";
            r.cost = 1;
            REQUIRE(cache->insert(r, 1) == cache::InsertOutcome::stored);
        }
    }
    // The cache's shard is (hash >> 32) % 2: a key's hash is chosen to land on `shard`.
    static cache::KeyView key(uint32_t shard, uint64_t n, std::string_view full) { return {((2 * n + shard) << 32) | (n & 0xffffffff), full}; }
    // `lookups` on `shard`, hitting `hit_percent` of them.
    void traffic(uint32_t shard, uint64_t lookups, uint64_t hit_percent) {
        for (uint64_t i = 0; i < lookups; ++i) {
            if (i % 100 < hit_percent) (void)cache->lookup(key(shard, 0, present[shard]), 2);
            else (void)cache->lookup(key(shard, ++next_absent, absent), 2);
        }
    }
};

} // namespace

TEST_CASE("a canary is judged net of its shards' own figures before the change, when the history reaches back far enough") {
    const patches::CanaryOptions options{0.5, 1000, 2.0};
    SUBCASE("a shard that always answers less often is no loss") {
        TwoShards t;
        patches::ShardHistory history(*t.cache);
        history.sample();
        t.traffic(0, 4000, 20), t.traffic(1, 4000, 80);
        history.sample();
        patches::CanarySplit with(*t.cache, {0}, &history, options), without(*t.cache, {0});
        CHECK(with.has_baseline());
        t.traffic(0, 1000, 20), t.traffic(1, 1000, 80);
        auto judged = with.verdict(options), plain = without.verdict(options);
        REQUIRE(judged);
        REQUIRE(plain);
        CHECK(judged->promote);
        CHECK(judged->why.find("+0.00 points net of the traffic") != std::string::npos);
        CHECK_FALSE(plain->promote); // 20% against 80%, with no change at all
    }
    SUBCASE("a drop the other shards do not share is rolled back, even when it still beats their level") {
        TwoShards t;
        patches::ShardHistory history(*t.cache);
        history.sample();
        t.traffic(0, 4000, 90), t.traffic(1, 4000, 60);
        history.sample();
        patches::CanarySplit split(*t.cache, {0}, &history, options);
        t.traffic(0, 1000, 70), t.traffic(1, 1000, 60);
        auto judged = split.verdict(options);
        REQUIRE(judged);
        CHECK_FALSE(judged->promote);
        CHECK(judged->why.find("-20.00 points net of the traffic") != std::string::npos);
    }
    SUBCASE("too short a history, or one restarted by the end of the last canary: judged against the other shards only") {
        TwoShards t;
        patches::ShardHistory history(*t.cache);
        history.sample();
        t.traffic(0, 500, 20), t.traffic(1, 500, 80);
        history.sample();
        CHECK_FALSE(patches::CanarySplit(*t.cache, {0}, &history, options).has_baseline()); // 500 lookups < the minimum
        t.traffic(0, 4000, 20), t.traffic(1, 4000, 80);
        history.sample();
        CHECK(patches::CanarySplit(*t.cache, {0}, &history, options).has_baseline()); // the longest kept, over the minimum
        history.restart();
        history.sample();
        CHECK_FALSE(patches::CanarySplit(*t.cache, {0}, &history, options).has_baseline());
    }
}

TEST_CASE("over a probation each window of lookups is judged alone: a harm that starts late rolls the canary back, and only the last window promotes") {
    patches::CanaryOptions options{0.5, 1000, 2.0};
    options.probation_windows = 3;
    SUBCASE("good, then worse in the second window") {
        TwoShards t;
        patches::CanarySplit split(*t.cache, {0});
        t.traffic(0, 1000, 55), t.traffic(1, 1000, 50);
        CHECK_FALSE(split.verdict(options)); // window 1 passed: not promoted yet
        t.traffic(0, 500, 45), t.traffic(1, 500, 50);
        CHECK_FALSE(split.verdict(options)); // window 2 not complete
        t.traffic(0, 500, 45), t.traffic(1, 500, 50);
        auto judged = split.verdict(options); // window 2 alone: 45% against 50% (both windows together: 50% against 50%)
        REQUIRE(judged);
        CHECK_FALSE(judged->promote);
        CHECK(judged->why.find("window 2 of 3") != std::string::npos);
    }
    SUBCASE("three good windows") {
        TwoShards t;
        patches::CanarySplit split(*t.cache, {0});
        for (int w = 0; w < 2; ++w) {
            t.traffic(0, 1000, 50), t.traffic(1, 1000, 51);
            CHECK_FALSE(split.verdict(options));
        }
        t.traffic(0, 1000, 50), t.traffic(1, 1000, 51);
        auto judged = split.verdict(options);
        REQUIRE(judged);
        CHECK(judged->promote);
        CHECK(judged->why.find("window 3 of 3") != std::string::npos);
    }
    SUBCASE("by tokens saved: hits on cheap answers do not hide misses on dear ones") {
        TwoShards t;
        options.probation_windows = 1;
        options.objective = replay::Objective::tokens;
        patches::CanarySplit split(*t.cache, {0});
        // Both sides hit half their lookups (cost 1 each); the canary's misses fetch answers of cost 9.
        for (int i = 0; i < 1000; ++i) {
            for (uint32_t shard : {0u, 1u}) {
                if (i % 2 == 0) {
                    (void)t.cache->lookup(TwoShards::key(shard, 0, t.present[shard]), 3);
                    continue;
                }
                std::string missing = "missing-" + std::to_string(i);
                auto key = TwoShards::key(shard, 1'000'000 + i, missing);
                (void)t.cache->lookup(key, 3);
                cache::InsertRequest r;
                r.key = key, r.value = "x", r.cost = shard == 0 ? 9 : 1;
                (void)t.cache->insert(r, 3);
                t.cache->erase(key); // stays a miss: each missing key is asked once anyway
            }
        }
        auto judged = split.verdict(options);
        REQUIRE(judged);
        CHECK_FALSE(judged->promote); // 10% of the tokens saved against 50%
        CHECK(judged->why.find("canary tokens saved 10.00% vs 50.00%") != std::string::npos);
    }
}

TEST_CASE("a host runs one canary at a time: the slot is refused, naming its holder, until it is given back") {
    patches::CanarySlot slot;
    REQUIRE(slot.take("patch #3"));
    Status second = slot.take("parameters {\"small_ratio\":0.2}");
    CHECK(second.code() == Errc::busy);
    CHECK(second.message().find("patch #3 is on canary") != std::string::npos);
    slot.release();
    CHECK(slot.take("parameters {\"small_ratio\":0.2}"));
}
