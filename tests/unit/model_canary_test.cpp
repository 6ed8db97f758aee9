// How a model canary's window is judged (patches/model_canary.hpp): served share and wrong share
// of judged matches, side by side on the same traffic.
#include "patches/model_canary.hpp"

#include <doctest/doctest.h>

using aicache::cache::MatchCounts;
using aicache::patches::CanaryOptions;
using aicache::patches::judge_model_window;

namespace {
CanaryOptions window_of(uint64_t lookups, double margin = 2.0) {
    CanaryOptions o;
    o.window_lookups = lookups;
    o.margin_points = margin;
    return o;
}
} // namespace

TEST_CASE("a model canary's window waits for its lookups, then passes a canary that serves and errs like the serving model") {
    CHECK_FALSE(judge_model_window({400, 100, 40, 4}, {99, 25, 10, 1}, window_of(100)).has_value());
    auto verdict = judge_model_window({400, 100, 40, 4}, {100, 26, 10, 1}, window_of(100));
    REQUIRE(verdict);
    CHECK(verdict->passed);
    CHECK(verdict->why.find("the canary served 26.0% of 100 questions") != std::string::npos);
}

TEST_CASE("a model canary that is significantly more often wrong is rolled back, whatever it serves") {
    // 12 of 30 judged wrong against 4 of 40: z well above 1.645.
    auto verdict = judge_model_window({400, 100, 36, 4}, {100, 60, 18, 12}, window_of(100));
    REQUIRE(verdict);
    CHECK_FALSE(verdict->passed);
    CHECK(verdict->why.find("significantly more often wrong") != std::string::npos);
    // Too few judged on the canary side to tell: not held against it.
    auto few = judge_model_window({400, 100, 36, 4}, {100, 26, 5, 4}, window_of(100));
    REQUIRE(few);
    CHECK(few->passed);
}

TEST_CASE("a model canary that serves less than the margin allows is rolled back unless it is significantly less often wrong") {
    auto behind = judge_model_window({400, 120, 40, 10}, {100, 20, 10, 2}, window_of(100));
    REQUIRE(behind);
    CHECK_FALSE(behind->passed);
    CHECK(behind->why.find("points less, more than the margin") != std::string::npos);
    // Serving less because it stopped serving wrong answers is what a better model does.
    auto careful = judge_model_window({400, 120, 20, 30}, {100, 20, 28, 2}, window_of(100));
    REQUIRE(careful);
    CHECK(careful->passed);
}

TEST_CASE("a model canary that answers much more slowly than the serving model is rolled back, and clock noise is not held against it") {
    // 100 lookups each side: 300 µs a lookup against 1,200 µs, as a far larger encoder would take.
    auto slow = judge_model_window({100, 25, 10, 1, 30'000}, {100, 26, 10, 1, 120'000}, window_of(100));
    REQUIRE(slow);
    CHECK_FALSE(slow->passed);
    CHECK(slow->why.find("4.0 times as slow, more than the 1.5 allowed") != std::string::npos);
    CHECK(slow->why.find("a lookup took 1200 µs on the canary, 300 µs on the serving model") != std::string::npos);
    // Within the ratio: passes.
    auto alike = judge_model_window({100, 25, 10, 1, 30'000}, {100, 26, 10, 1, 40'000}, window_of(100));
    REQUIRE(alike);
    CHECK(alike->passed);
    // Three times as slow, but by 40 µs a lookup: noise, not the model.
    auto tiny = judge_model_window({100, 25, 10, 1, 2'000}, {100, 26, 10, 1, 6'000}, window_of(100));
    REQUIRE(tiny);
    CHECK(tiny->passed);
    // A host that does not judge latency (ratio 0) keeps the slow canary on its other figures.
    CanaryOptions unjudged = window_of(100);
    unjudged.latency_ratio = 0;
    auto kept = judge_model_window({100, 25, 10, 1, 30'000}, {100, 26, 10, 1, 120'000}, unjudged);
    REQUIRE(kept);
    CHECK(kept->passed);
}
