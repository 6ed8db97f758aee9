// The semantic index: nearest neighbours within a scope and never across scopes, recall against
// an exact search, removals (and the compaction they trigger), and snapshots that come back the
// same or are refused when a byte has changed; the durable index over SQLite after a restart.
#include "cache/dot_product.hpp"
#include "cache/durable_semantic_index.hpp"
#include "cache/semantic_index.hpp"
#include "test_support.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <random>

using namespace aicache;

namespace {

std::vector<std::vector<float>> unit_vectors(size_t n, size_t dim, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> normal;
    std::vector<std::vector<float>> out(n, std::vector<float>(dim));
    for (auto &v : out) {
        double norm = 0;
        for (float &x : v) x = normal(rng), norm += double(x) * x;
        for (float &x : v) x = float(x / std::sqrt(norm));
    }
    return out;
}

std::vector<uint64_t> exact_top(const std::vector<std::vector<float>> &points, const std::vector<float> &q, size_t k) {
    std::vector<std::pair<float, uint64_t>> scored;
    for (size_t i = 0; i < points.size(); ++i) {
        float dot = 0;
        for (size_t d = 0; d < q.size(); ++d) dot += points[i][d] * q[d];
        scored.emplace_back(-dot, i);
    }
    std::partial_sort(scored.begin(), scored.begin() + long(k), scored.end());
    std::vector<uint64_t> out;
    for (size_t i = 0; i < k; ++i) out.push_back(scored[i].second);
    return out;
}

} // namespace

TEST_CASE("the semantic index finds near neighbours within a scope, never across scopes, and forgets removed keys") {
    const size_t dim = 32;
    auto points = unit_vectors(3000, dim, 1);
    cache::SemanticIndex index(dim);
    for (size_t i = 0; i < points.size(); ++i) REQUIRE(index.add(7, i, points[i]));
    REQUIRE(index.add(8, 99999, points[0])); // the same vector in another scope
    CHECK(index.size() == points.size() + 1);

    // Recall@10 against the exact search, over 50 queries.
    auto queries = unit_vectors(50, dim, 2);
    size_t found = 0;
    for (const auto &q : queries) {
        auto exact = exact_top(points, q, 10);
        for (const auto &n : index.search(7, q, 10)) found += std::count(exact.begin(), exact.end(), n.key);
    }
    CHECK(double(found) / 500.0 > 0.9);

    auto self = index.search(7, points[42], 3);
    REQUIRE(self.size() == 3);
    CHECK(self[0].key == 42);
    CHECK(self[0].similarity == doctest::Approx(1.0).epsilon(1e-4));
    CHECK(self[1].similarity <= self[0].similarity);
    for (const auto &n : index.search(8, points[42], 5)) CHECK(n.key == 99999);
    CHECK(index.search(9, points[42], 5).empty());

    index.remove(7, 42);
    for (const auto &n : index.search(7, points[42], 5)) CHECK(n.key != 42);
    CHECK_FALSE(index.add(7, 1, std::vector<float>(dim + 1, 0.0f)));

    // Enough removals to compact the scope: what is left is still found.
    for (size_t i = 0; i < 2500; ++i) index.remove(7, i);
    CHECK(index.size() == 501);
    auto survivor = index.search(7, points[2999], 1);
    REQUIRE(survivor.size() == 1);
    CHECK(survivor[0].key == 2999);
}

TEST_CASE("a semantic index snapshot loads back the same, and a changed byte makes it refused") {
    test::TempDir dir;
    const size_t dim = 16;
    auto points = unit_vectors(500, dim, 3);
    cache::SemanticIndex index(dim);
    for (size_t i = 0; i < points.size(); ++i) REQUIRE(index.add(i % 3, i, points[i]));
    index.remove(0, 3);
    REQUIRE(index.save(dir.path() / "index"));
    auto loaded = cache::SemanticIndex::load(dir.path() / "index", dim);
    REQUIRE_MESSAGE(loaded, loaded.error().message());
    CHECK((*loaded)->size() == index.size());
    for (uint64_t scope = 0; scope < 3; ++scope) {
        auto a = index.search(scope, points[10], 5), b = (*loaded)->search(scope, points[10], 5);
        REQUIRE(a.size() == b.size());
        for (size_t i = 0; i < a.size(); ++i) CHECK(a[i].key == b[i].key);
    }
    CHECK_FALSE(cache::SemanticIndex::load(dir.path() / "index", dim + 1));

    {
        std::fstream f(dir.path() / "index" / "1.hnsw", std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(200);
        f.put('\x5a');
    }
    auto refused = cache::SemanticIndex::load(dir.path() / "index", dim);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().message().find("does not match its checksum") != std::string::npos);
}

TEST_CASE("the durable semantic index comes back after a restart from its snapshot, or rebuilt from the store when the snapshot is stale") {
    test::TempDir dir;
    const size_t dim = 16;
    auto points = unit_vectors(300, dim, 5);
    auto db = store::Database::open(dir.path() / "aicache.db");
    REQUIRE(db);
    {
        auto index = cache::DurableSemanticIndex::open(**db, dir.path() / "semantic", dim, "encoder 1.0.0 abc");
        REQUIRE(index);
        CHECK((*index)->rebuilt_on_open()); // nothing to load the first time
        for (size_t i = 0; i < points.size(); ++i) REQUIRE((*index)->add(i % 2, i, points[i]));
        REQUIRE((*index)->remove(0, 10));
        REQUIRE((*index)->snapshot());
    }
    {
        auto index = cache::DurableSemanticIndex::open(**db, dir.path() / "semantic", dim, "encoder 1.0.0 abc");
        REQUIRE(index);
        CHECK_FALSE((*index)->rebuilt_on_open());
        CHECK((*index)->size() == 299);
        // Written after the snapshot, as if the host then crashed: the snapshot is now stale.
        REQUIRE((*index)->add(1, 5000, points[7]));
    }
    auto reopened = cache::DurableSemanticIndex::open(**db, dir.path() / "semantic", dim, "encoder 1.0.0 abc");
    REQUIRE(reopened);
    CHECK((*reopened)->rebuilt_on_open());
    CHECK((*reopened)->size() == 300);
    auto found = (*reopened)->search(1, points[7], 2);
    REQUIRE(found.size() == 2);
    CHECK((found[0].key == 7 || found[0].key == 5000));
    CHECK(found[0].similarity == doctest::Approx(1.0).epsilon(1e-4));
    // Another model's vectors are not this model's neighbours: its questions are handed out to be
    // embedded again, and once re-added under the new model they are found after a restart too.
    auto other = cache::DurableSemanticIndex::open(**db, dir.path() / "semantic", dim, "encoder 2.0.0 def");
    REQUIRE(other);
    CHECK((*other)->size() == 0);
    auto stale = (*other)->stale_entries();
    REQUIRE(stale);
    CHECK(stale->size() == 300);
    std::vector<std::vector<float>> again;
    for (const auto &e : *stale) again.push_back(points[e.key == 5000 ? 7 : e.key]);
    REQUIRE((*other)->add_many(*stale, again));
    CHECK((*other)->size() == 300);
    CHECK((*other)->stale_entries()->empty());
    REQUIRE((*other)->add_many({}, {}));
    auto after = cache::DurableSemanticIndex::open(**db, dir.path() / "semantic", dim, "encoder 2.0.0 def");
    REQUIRE(after);
    CHECK((*after)->size() == 300);
    CHECK((*after)->search(0, points[12], 1).at(0).key == 12);
}

TEST_CASE("the run-time chosen dot product agrees with the portable one on every length") {
    std::mt19937_64 rng(7);
    std::uniform_real_distribution<float> value(-1, 1);
    cache::DotProduct simd = cache::dot_avx2_if_supported();
    if (simd == nullptr) MESSAGE("this CPU has no AVX2+FMA: only the portable kernel is checked");
    for (size_t n : {0, 1, 7, 8, 15, 16, 17, 64, 127, 128, 129, 300}) {
        std::vector<float> a(n), b(n);
        double exact = 0;
        for (size_t i = 0; i < n; ++i) a[i] = value(rng), b[i] = value(rng), exact += double(a[i]) * b[i];
        CHECK(cache::dot_portable(a.data(), b.data(), n) == doctest::Approx(exact).epsilon(1e-4));
        if (simd != nullptr) CHECK(simd(a.data(), b.data(), n) == doctest::Approx(exact).epsilon(1e-4));
        CHECK(cache::best_dot_product()(a.data(), b.data(), n) == doctest::Approx(exact).epsilon(1e-4));
    }
}

TEST_CASE("a verified paraphrase is indexed as an alias of its entry, comes back after a restart, and leaves with its entry") {
    test::TempDir dir;
    const size_t dim = 16;
    auto points = unit_vectors(4, dim, 9);
    auto db = store::Database::open(dir.path() / "aicache.db");
    REQUIRE(db);
    {
        auto index = cache::DurableSemanticIndex::open(**db, dir.path() / "semantic", dim, "m");
        REQUIRE(index);
        REQUIRE((*index)->add(1, 10, points[0], "how do I sort a list", "ck-10"));
        REQUIRE((*index)->add(1, 11, points[1], "ways to order a list", "ck-10", 10));
        REQUIRE((*index)->add(1, 20, points[2], "how do I bake bread", "ck-20"));
        CHECK((*index)->alias_count(10) == 1);
        CHECK((*index)->alias_count(20) == 0);
        CHECK((*index)->entry(11)->alias_of == 10);
        CHECK((*index)->search(1, points[1], 1).at(0).key == 11);
    }
    // No snapshot was written: the index is rebuilt from the store, aliases with their entries.
    auto reopened = cache::DurableSemanticIndex::open(**db, dir.path() / "semantic", dim, "m");
    REQUIRE(reopened);
    CHECK((*reopened)->size() == 3);
    CHECK((*reopened)->alias_count(10) == 1);
    CHECK((*reopened)->entry(11)->canonical_key == "ck-10");
    // A new model re-embeds aliases as aliases.
    auto other = cache::DurableSemanticIndex::open(**db, dir.path() / "semantic", dim, "m2");
    REQUIRE(other);
    auto stale = (*other)->stale_entries();
    REQUIRE(stale);
    auto alias = std::find_if(stale->begin(), stale->end(), [](const auto &e) { return e.key == 11; });
    REQUIRE(alias != stale->end());
    CHECK(alias->alias_of == 10);

    REQUIRE((*reopened)->remove(1, 10));
    CHECK((*reopened)->size() == 1);
    CHECK_FALSE((*reopened)->entry(11));
    CHECK((*reopened)->alias_count(10) == 0);
    CHECK((*reopened)->search(1, points[1], 1).at(0).key == 20);
    store::SemanticVectors vectors(**db);
    CHECK(*vectors.count() == 1); // the alias's row left the store with its entry
    // Removing an alias alone leaves its entry.
    REQUIRE((*reopened)->add(1, 30, points[3], "q", "ck-30"));
    REQUIRE((*reopened)->add(1, 31, points[0], "q2", "ck-30", 30));
    REQUIRE((*reopened)->remove(1, 31));
    CHECK((*reopened)->entry(30));
    CHECK((*reopened)->alias_count(30) == 0);
}
