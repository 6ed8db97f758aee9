#include "cache/cache.hpp"
#include "core/hash.hpp"
#include "loader/content_store.hpp"
#include "test_support.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <random>
#include <thread>

using namespace aicache;

namespace {

cache::InsertRequest put(const std::string &k, uint64_t size) {
    cache::InsertRequest r;
    r.key = cache::KeyView{hash_key(k), k};
    r.size_bytes = size;
    return r;
}

} // namespace

TEST_CASE("swap_keeps_in_flight_calls_on_old_version_and_unloads_it_after") {
    test::TempDir dir;
    loader::ContentStore store(dir.path());
    auto lru = store.put(test::plugin_path("lru"));
    auto sieve = store.put(test::plugin_path("sieve"));
    REQUIRE(lru);
    REQUIRE(sieve);

    auto first = loader::PluginLibrary::load(*lru);
    REQUIRE(first);
    auto created = cache::Cache::create({64 * 1024, 8, ""}, *first);
    REQUIRE(created);
    cache::Cache &c = **created;
    first->reset();

    std::atomic<bool> stop{false};
    std::atomic<uint64_t> operations{0}, failed_inserts{0};
    std::vector<std::thread> workers;
    for (int t = 0; t < 3; ++t) {
        workers.emplace_back([&, t] {
            std::mt19937_64 rng(t);
            uint64_t now = 0;
            while (!stop.load(std::memory_order_relaxed)) {
                std::string k = "key-" + std::to_string(rng() % 2000);
                if (!c.lookup(cache::KeyView{hash_key(k), k}, ++now).hit)
                    if (c.insert(put(k, 64 + rng() % 64), now) != cache::InsertOutcome::stored) ++failed_inserts;
                ++operations;
            }
        });
    }

    const int swaps = 1000;
    for (int i = 0; i < swaps; ++i) {
        const loader::StoredLibrary &next = i % 2 == 0 ? *sieve : *lru;
        const loader::StoredLibrary &previous = i % 2 == 0 ? *lru : *sieve;
        auto library = loader::PluginLibrary::load(next);
        REQUIRE(library);
        Status swapped = c.swap_policy(*library);
        REQUIRE_MESSAGE(swapped.is_ok(), swapped.message());
        library->reset();
        // The cache held the only reference to the previous library: once the swap returned, no
        // call can still run in it, and it must be gone from the address space.
        if (i % 50 == 0) CHECK_FALSE(test::is_mapped(previous.content_hash));
    }
    stop = true;
    for (auto &w : workers) w.join();

    cache::CacheStats stats = c.stats();
    CHECK(operations.load() > 1000);
    CHECK(failed_inserts.load() == 0);
    CHECK(stats.policy_errors == 0);
    CHECK(stats.cold_swaps == uint64_t(swaps) * 8); // lru and sieve have different state formats
    CHECK(stats.bytes_used <= stats.capacity_bytes);
}

TEST_CASE("a_swap_between_versions_of_one_format_keeps_the_warm_state") {
    auto v1 = loader::PluginLibrary::load_file(test::build_dir() / "fixtures" / "v1" / "versioned.so");
    auto v2 = loader::PluginLibrary::load_file(test::build_dir() / "fixtures" / "v2" / "versioned.so");
    REQUIRE(v1);
    REQUIRE(v2);
    auto created = cache::Cache::create({1000, 1, ""}, *v1);
    REQUIRE(created);
    cache::Cache &c = **created;
    for (int i = 0; i < 10; ++i) REQUIRE(c.insert(put("k" + std::to_string(i), 100), uint64_t(i)) == cache::InsertOutcome::stored);
    REQUIRE(c.swap_policy(*v2).is_ok());
    CHECK(c.stats().warm_swaps == 1);
    CHECK(c.stats().cold_swaps == 0);
    // FIFO order survived the swap: the next insert evicts k0, the oldest.
    REQUIRE(c.insert(put("k10", 100), 10) == cache::InsertOutcome::stored);
    CHECK_FALSE(c.lookup(cache::KeyView{hash_key("k0"), "k0"}, 11).hit);
    CHECK(c.lookup(cache::KeyView{hash_key("k1"), "k1"}, 12).hit);
}

TEST_CASE("a_cold_swap_teaches_the_new_policy_every_resident_entry") {
    auto lru = loader::PluginLibrary::load_file(test::plugin_path("lru"));
    auto s3fifo = loader::PluginLibrary::load_file(test::plugin_path("s3fifo"));
    REQUIRE(lru);
    REQUIRE(s3fifo);
    auto created = cache::Cache::create({1000, 1, ""}, *lru);
    REQUIRE(created);
    cache::Cache &c = **created;
    for (int i = 0; i < 10; ++i) REQUIRE(c.insert(put("k" + std::to_string(i), 100), uint64_t(i)) == cache::InsertOutcome::stored);
    REQUIRE(c.swap_policy(*s3fifo).is_ok());
    CHECK(c.stats().cold_swaps == 1);
    // Twenty more inserts force twenty evictions: each must name a resident entry.
    for (int i = 10; i < 30; ++i) REQUIRE(c.insert(put("k" + std::to_string(i), 100), uint64_t(i)) == cache::InsertOutcome::stored);
    CHECK(c.stats().policy_errors == 0);
    CHECK(c.stats().entries == 10);
}
