// The performance monitor: windows of figures from request records, their latency percentiles,
// the bounded ring of recent requests, and windows kept in the knowledge repository.
#include "learning/coordinator.hpp"
#include "learning/drift_test.hpp"
#include "learning/performance_monitor.hpp"
#include "store/monitor_windows.hpp"
#include "test_support.hpp"

#include <doctest/doctest.h>

using namespace aicache;
using learning::RequestOutcome;

namespace {
learning::RequestRecord request(RequestOutcome outcome, uint32_t tokens, uint32_t latency_us, uint64_t key = 1) {
    learning::RequestRecord r;
    r.key_hash = key;
    r.outcome = outcome;
    r.cost_tokens = tokens;
    r.latency_us = latency_us;
    return r;
}
} // namespace

TEST_CASE("a window counts requests by outcome, tokens answered and saved, and verdicts, and closes when its time is up") {
    learning::PerformanceMonitor monitor(std::chrono::milliseconds(1000));
    const uint64_t start = monitor.open_window().start_us;
    monitor.record(request(RequestOutcome::miss, 100, 50'000));
    monitor.record(request(RequestOutcome::hit, 100, 300));
    monitor.record(request(RequestOutcome::semantic_hit, 40, 500));
    monitor.record(request(RequestOutcome::bypass, 10, 40'000));
    monitor.record(request(RequestOutcome::error, 999, 1'000));
    monitor.feedback(false);
    CHECK_FALSE(monitor.roll(start + 999'000)); // not yet
    auto closed = monitor.roll(start + 1'000'000);
    REQUIRE(closed);
    CHECK(closed->requests == 5);
    CHECK(closed->hits == 1);
    CHECK(closed->semantic_hits == 1);
    CHECK(closed->misses == 1);
    CHECK(closed->bypasses == 1);
    CHECK(closed->errors == 1);
    CHECK(closed->tokens_answered == 250); // an error answered nothing
    CHECK(closed->tokens_saved == 140);
    CHECK(closed->wrong_reports == 1);
    CHECK(closed->hit_ratio() == doctest::Approx(2.0 / 3));
    CHECK(closed->end_us - closed->start_us == 1'000'000);
    // The median of 300, 500, 1000, 40000, 50000 µs is 1000 µs, within a bucket's width.
    CHECK(closed->latency_p50_us >= 1000);
    CHECK(closed->latency_p50_us < 1200);
    CHECK(closed->latency_p99_us >= 50'000);
    // The next window starts where this one ended; an empty one is not reported.
    CHECK(monitor.open_window().start_us == start + 1'000'000);
    CHECK_FALSE(monitor.roll(start + 2'000'000));
}

TEST_CASE("latency percentiles stay within a quarter-octave bucket of the true value") {
    learning::LatencyHistogram h;
    CHECK(h.percentile(0.5) == 0);
    for (uint32_t v = 1; v <= 10'000; ++v) h.add(v);
    const uint32_t p50 = h.percentile(0.5), p99 = h.percentile(0.99);
    CHECK(p50 >= 5000);
    CHECK(p50 <= 5000 * 1.19);
    CHECK(p99 >= 9900);
    CHECK(p99 <= 9900 * 1.19);
}

TEST_CASE("the ring keeps the most recent requests, oldest first, and never grows past its capacity") {
    learning::PerformanceMonitor monitor(std::chrono::milliseconds(60'000), 4);
    for (uint64_t k = 1; k <= 3; ++k) monitor.record(request(RequestOutcome::miss, 1, 1, k));
    REQUIRE(monitor.recent().size() == 3);
    for (uint64_t k = 4; k <= 10; ++k) monitor.record(request(RequestOutcome::miss, 1, 1, k));
    auto recent = monitor.recent();
    REQUIRE(recent.size() == 4);
    CHECK(recent.front().key_hash == 7);
    CHECK(recent.back().key_hash == 10);
}

TEST_CASE("closed windows are kept in the knowledge repository and read back in order, and stop() keeps the last partial one") {
    test::TempDir dir;
    auto db = store::Database::open(dir.path() / "aicache.db");
    REQUIRE(db);
    store::MonitorWindows windows(**db);
    {
        learning::PerformanceMonitor monitor(std::chrono::milliseconds(60'000));
        monitor.start([&](const learning::WindowFigures &w) { REQUIRE(windows.add(w)); });
        monitor.record(request(RequestOutcome::hit, 7, 100));
        monitor.stop();
    }
    store::WindowFigures later;
    later.start_us = 1ull << 60, later.end_us = (1ull << 60) + 5, later.requests = 2, later.misses = 2;
    REQUIRE(windows.add(later));
    auto recent = windows.recent(10);
    REQUIRE(recent);
    REQUIRE(recent->size() == 2);
    CHECK((*recent)[0].hits == 1);
    CHECK((*recent)[0].tokens_saved == 7);
    CHECK((*recent)[1].misses == 2);
    CHECK(windows.recent(1)->at(0).end_us == later.end_us);
}

TEST_CASE("close_now ends a window before its time, hands it to the sink, and the next window counts from then") {
    learning::PerformanceMonitor monitor(std::chrono::milliseconds(3'600'000));
    std::vector<learning::WindowFigures> sunk;
    monitor.start([&](const learning::WindowFigures &w) { sunk.push_back(w); });
    monitor.record(request(RequestOutcome::hit, 5, 100));
    monitor.record(request(RequestOutcome::miss, 9, 100));
    auto first = monitor.close_now();
    REQUIRE(first);
    CHECK(first->hits == 1);
    CHECK(first->misses == 1);
    CHECK(first->tokens_saved == 5);
    REQUIRE(sunk.size() == 1);
    CHECK(sunk[0].requests == 2);
    CHECK_FALSE(monitor.close_now()); // nothing happened since: no empty window
    monitor.record(request(RequestOutcome::miss, 3, 100));
    auto second = monitor.close_now();
    REQUIRE(second);
    CHECK(second->requests == 1);
    CHECK(second->start_us >= first->end_us);
    monitor.stop();
    CHECK(sunk.size() == 2);
}

TEST_CASE("the coordinator's sign test gives the exact one-sided binomial p-value") {
    CHECK(learning::sign_test_p(8, 8) == doctest::Approx(1.0 / 256));
    CHECK(learning::sign_test_p(7, 8) == doctest::Approx(9.0 / 256));
    CHECK(learning::sign_test_p(0, 8) == doctest::Approx(1.0));
    CHECK(learning::sign_test_p(0, 0) == doctest::Approx(1.0));
    CHECK(learning::sign_test_p(4, 8) == doctest::Approx(163.0 / 256));
}

namespace {
store::WindowFigures window(uint64_t hits, uint64_t misses, uint64_t wrong = 0) {
    store::WindowFigures w;
    w.requests = hits + misses, w.hits = hits, w.misses = misses, w.wrong_reports = wrong;
    return w;
}
} // namespace

TEST_CASE("drift is a last window significantly worse than the ones before it, in hit ratio or in false hits reported") {
    std::vector<store::WindowFigures> steady(5, window(600, 400));
    auto same = steady;
    same.push_back(window(590, 410));
    CHECK_FALSE(learning::detect_drift(same).drifted);
    auto fell = steady;
    fell.push_back(window(300, 700));
    auto verdict = learning::detect_drift(fell);
    CHECK(verdict.drifted);
    CHECK(verdict.why.find("hit ratio fell to 30.0% in the last window from 60.0% in the 5 before") != std::string::npos);
    auto quiet = steady;
    quiet.push_back(window(10, 90)); // too few requests to judge
    CHECK_FALSE(learning::detect_drift(quiet).drifted);
    auto wrong = steady;
    wrong.push_back(window(600, 400, 40));
    auto reported = learning::detect_drift(wrong);
    CHECK(reported.drifted);
    CHECK(reported.why.find("false hits reported rose to 40 of 600") != std::string::npos);
    CHECK_FALSE(learning::detect_drift({window(600, 400)}).drifted);
}
