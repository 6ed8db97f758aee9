// The interval `optimize judge` puts around a patch's difference from the best classical policy:
// it must be exact arithmetic on the chunks, say "behind" or "ahead" only when every chunk-level
// account agrees, and refuse chunkings that cannot be compared.
#include "replay/paired_difference.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <vector>

using namespace aicache;

TEST_CASE("a paired difference is the whole difference in points, with a Student t interval from the chunks' spread") {
    // Differences +5, -5, +5, -5 hits over 1,000 requests: 0 points; the chunks' standard deviation
    // is sqrt(100/3), so the whole difference's is that times sqrt(4), and t(3 df, 97.5%) = 3.1824.
    auto d = replay::paired_difference({15, 5, 15, 5}, {10, 10, 10, 10}, 1000);
    REQUIRE(d);
    CHECK(d->points == doctest::Approx(0));
    CHECK(d->high == doctest::Approx(3.1824 * std::sqrt(100.0 / 3) * 2 / 10).epsilon(1e-4));
    CHECK(d->low == doctest::Approx(-d->high));
    CHECK(d->chunks == 4);
    CHECK(d->verdict() == "within noise");
}

TEST_CASE("a difference every chunk agrees on is ahead or behind, and equal replays are within noise") {
    const std::vector<uint64_t> theirs = {100, 120, 90, 110, 105, 95};
    const std::vector<uint64_t> ours = {103, 122, 94, 112, 108, 97}; // 2 to 4 hits more in each chunk
    auto ahead = replay::paired_difference(ours, theirs, 6000);
    REQUIRE(ahead);
    CHECK(ahead->points == doctest::Approx(100.0 * 16 / 6000));
    CHECK(ahead->low > 0);
    CHECK(ahead->verdict() == "ahead");
    auto behind = replay::paired_difference(theirs, ours, 6000);
    REQUIRE(behind);
    CHECK(behind->high < 0);
    CHECK(behind->verdict() == "behind");
    auto same = replay::paired_difference(theirs, theirs, 6000);
    REQUIRE(same);
    CHECK(same->low == 0);
    CHECK(same->high == 0);
    CHECK(same->verdict() == "within noise");
    // One chunk that disagrees by a lot makes the same total uncertain.
    const std::vector<uint64_t> lumpy = {100, 120, 90, 110, 105, 111};
    auto uncertain = replay::paired_difference(lumpy, theirs, 6000);
    REQUIRE(uncertain);
    CHECK(uncertain->points == doctest::Approx(100.0 * 16 / 6000));
    CHECK(uncertain->verdict() == "within noise");
}

TEST_CASE("a paired difference refuses chunkings that cannot be compared") {
    CHECK_FALSE(replay::paired_difference({1, 2}, {1, 2, 3}, 100));
    CHECK_FALSE(replay::paired_difference({1}, {1}, 100));
    CHECK_FALSE(replay::paired_difference({1, 2}, {1, 2}, 0));
    CHECK_FALSE(replay::paired_difference({1, 2}, {1, 2}, 100, 1.0));
}
