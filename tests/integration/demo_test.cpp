// `aicache demo` (make run), small: two real hosts as child processes, the drifting workload over
// HTTP, the learning host's cycles and canaries, an evolved patch, and two injected bad changes.
#include "test_support.hpp"

#include <doctest/doctest.h>

using namespace aicache;

TEST_CASE("the demo drives two hosts through a drift, and the learning host's injected bad changes are rolled back within their window") {
    test::TempDir dir;
    sandbox::Result demo = test::run_aicache({"demo", "--data", (dir.path() / "data").string(), "--windows", "12", "--window-requests", "2500",
                                              "--drift-window", "1", "--trials", "10", "--evolve-trials", "2"},
                                             std::chrono::seconds(300));
    INFO(demo.out << demo.err);
    REQUIRE(demo.outcome == sandbox::Outcome::ok);
    CHECK(demo.out.find("window 12 drifted") != std::string::npos);
    CHECK(demo.out.find("requests failed") == std::string::npos);
    // The learning host noticed the drift on its own and ran a cycle.
    CHECK(demo.out.find("trigger \"drift: hit ratio fell") != std::string::npos);
    // Both injected changes: caught by their canaries, not by the test's timing.
    // The bad parameters are for whichever policy the learning host serves by then (it may have chosen another).
    const bool bad_for_s3fifo = demo.out.find("parameters {\"ghost_ratio\":0.0,\"small_ratio\":0.95} rolled back: ") != std::string::npos;
    const bool bad_for_lirs = demo.out.find("parameters {\"hir_ratio\":0.95} rolled back: ") != std::string::npos;
    CHECK((bad_for_s3fifo || bad_for_lirs));
    CHECK(demo.out.find("evicts what is used most) is evaluated") != std::string::npos);
    CHECK(demo.out.find("a bad parameter set for the policy the learning host serves: went on in window") != std::string::npos);
    CHECK(demo.out.find("a patch approved by mistake: went on in window") != std::string::npos);
    CHECK(demo.out.find("NOT rolled back") == std::string::npos);
    CHECK(demo.out.find("never went on") == std::string::npos);
    // The evolve search's trials went through the pipeline.
    CHECK(demo.out.find("patch #2   evaluated") != std::string::npos);
    CHECK(demo.out.find("history: distinct=1 history=8 priority=") != std::string::npos); // rendered from the history template
    // Every change on the learning host is in its signed audit log.
    sandbox::Result audit = test::run_aicache({"audit", "verify", "--data", (dir.path() / "data" / "demo" / "learning").string()});
    CHECK(audit.outcome == sandbox::Outcome::ok);
}
