#include "cache/durable_cache.hpp"
#include "core/hash.hpp"
#include "store/database.hpp"
#include "test_support.hpp"

#include <doctest/doctest.h>

using namespace aicache;

namespace {

std::unique_ptr<cache::Cache> memory(uint64_t capacity) {
    auto lru = loader::PluginLibrary::load_file(test::plugin_path("lru"));
    REQUIRE(lru);
    auto c = cache::Cache::create({capacity, 1, ""}, *lru);
    REQUIRE(c);
    return std::move(c.value());
}

cache::StoreResult put(cache::DurableCache &c, const std::string &key, const std::string &value, uint64_t now, uint64_t ttl = 0) {
    cache::Answer a;
    a.key = key;
    a.key_hash = hash_key(key);
    a.value = value;
    a.tenant = "t";
    a.kind = "raw";
    a.ttl_seconds = ttl;
    return c.store(a, now);
}

} // namespace

TEST_CASE("evictions_are_persisted_and_a_restart_rebuilds_the_same_contents") {
    test::TempDir dir;
    std::vector<std::string> kept;
    {
        auto db = store::Database::open(dir.path() / "a.db");
        REQUIRE(db);
        store::CacheStore rows(**db);
        cache::DurableCache c(memory(1000), rows);
        REQUIRE(c.warm_start(1).is_ok());
        for (int i = 0; i < 20; ++i) REQUIRE(put(c, "key" + std::to_string(i), std::string(95, 'v'), 10 + i) == cache::StoreResult::stored);
        CHECK(c.memory().stats().evictions == 10);
        auto listed = rows.list({}, false);
        REQUIRE(listed);
        CHECK(listed->size() == 10); // the evicted rows are gone from SQLite too
        for (const auto &r : *listed) kept.push_back(r.key);
    }
    auto db = store::Database::open(dir.path() / "a.db");
    REQUIRE(db);
    store::CacheStore rows(**db);
    cache::DurableCache c(memory(1000), rows);
    REQUIRE(c.warm_start(100).is_ok());
    CHECK(c.memory().stats().entries == 10);
    for (const auto &key : kept) CHECK(c.lookup({hash_key(key), key}, 101).hit);
}

TEST_CASE("expired_answers_are_not_served_or_reloaded") {
    test::TempDir dir;
    auto db = store::Database::open(dir.path() / "a.db");
    REQUIRE(db);
    store::CacheStore rows(**db);
    {
        cache::DurableCache c(memory(1 << 20), rows);
        REQUIRE(put(c, "short", "v", 1'000'000, 5) == cache::StoreResult::stored);
        REQUIRE(put(c, "long", "v", 1'000'000, 500) == cache::StoreResult::stored);
        CHECK(c.lookup({hash_key("short"), "short"}, 3'000'000).hit);
        CHECK_FALSE(c.lookup({hash_key("short"), "short"}, 7'000'000).hit);
    }
    cache::DurableCache restarted(memory(1 << 20), rows);
    REQUIRE(restarted.warm_start(10'000'000).is_ok());
    CHECK(restarted.memory().stats().entries == 1);
    CHECK(rows.list({}, false)->size() == 1);
}

TEST_CASE("a_store_that_refuses_writes_leaves_memory_consistent_and_says_why") {
    test::TempDir dir;
    auto db = store::Database::open(dir.path() / "a.db");
    REQUIRE(db);
    store::CacheStore rows(**db);
    cache::DurableCache c(memory(1 << 20), rows);
    REQUIRE(put(c, "before", "v", 1) == cache::StoreResult::stored);
    REQUIRE((*db)->exec("PRAGMA query_only = ON").is_ok()); // every write now fails
    CHECK(put(c, "during", "v", 2) == cache::StoreResult::not_durable);
    CHECK_FALSE(c.lookup({hash_key("during"), "during"}, 3).hit); // not acknowledged, not served
    CHECK(c.lookup({hash_key("before"), "before"}, 3).hit);
    CHECK_FALSE(c.degraded_reason().empty());
    REQUIRE((*db)->exec("PRAGMA query_only = OFF").is_ok());
    CHECK(put(c, "after", "v", 4) == cache::StoreResult::stored);
    CHECK(c.degraded_reason().empty());
}
