// The demo's drifting workload: deterministic for a seed, steady before the drift, and after it a
// new popular pool, a bot repeating its list in order, and questions asked once.
#include "replay/drifting_workload.hpp"

#include <doctest/doctest.h>

#include <map>
#include <set>

using namespace aicache;

TEST_CASE("the drifting workload changes its popular questions at the drift, adds a bot's loop and one-off questions, and is the same for a seed") {
    replay::DriftingWorkloadOptions o;
    o.windows = 4, o.requests_per_window = 4000, o.drift_window = 2, o.bot_questions = 300;
    auto w = replay::generate_drifting_workload(o);
    REQUIRE(w.trace.requests.size() == 16000);
    CHECK(w.trace.requests == replay::generate_drifting_workload(o).trace.requests);
    o.seed = 8;
    CHECK_FALSE(w.trace.requests == replay::generate_drifting_workload(o).trace.requests);

    std::set<uint64_t> before, after;
    std::vector<uint64_t> bot;
    uint64_t asked_once = 0;
    std::map<uint64_t, uint64_t> asks;
    for (size_t i = 0; i < w.trace.requests.size(); ++i) {
        const auto &r = w.trace.requests[i];
        CHECK(r.cost == (r.size + 3) / 4);
        (w.drifted(w.window_of(i)) ? after : before).insert(r.id);
        ++asks[r.id];
        if (r.id >= 2'000'000 && r.id < 3'000'000) bot.push_back(r.id);
    }
    for (const auto &[id, n] : asks) asked_once += n == 1 && id >= 3'000'000;
    // No steady question is asked after the drift.
    for (uint64_t id : before) CHECK(after.count(id) == 0);
    // The bot asks its list in order, over and over: ~35% of the drifted requests.
    REQUIRE(bot.size() > 2000);
    for (size_t i = 0; i < bot.size(); ++i) CHECK(bot[i] == 2'000'000 + i % 300);
    CHECK(bot.size() == doctest::Approx(0.35 * 8000).epsilon(0.1));
    CHECK(asked_once == doctest::Approx(0.20 * 8000).epsilon(0.1));
    // Sizes belong to the question.
    std::map<uint64_t, uint64_t> size_of;
    for (const auto &r : w.trace.requests) CHECK(size_of.emplace(r.id, r.size).first->second == r.size);
    auto second = w.window_trace(1);
    CHECK(second.requests.size() == 4000);
    CHECK(second.requests.front().time_us == 4000);
}
