#include <aicache/sandbox/runner.hpp>

#include <doctest/doctest.h>

using namespace aicache::sandbox;

TEST_CASE("the_runner_reports_exit_signal_and_timeout") {
    Limits quick;
    quick.wall_time = std::chrono::milliseconds(500);
    Result ok = run({"/bin/sh", "-c", "echo out; echo err >&2"}, quick);
    CHECK(ok.outcome == Outcome::ok);
    CHECK(ok.out == "out\n");
    CHECK(ok.err == "err\n");

    Result failed = run({"/bin/sh", "-c", "exit 3"}, quick);
    CHECK(failed.outcome == Outcome::failed);
    CHECK(failed.exit_code == 3);

    Result crashed = run({"/bin/sh", "-c", "kill -ABRT $$"}, quick);
    CHECK(crashed.outcome == Outcome::crashed);
    CHECK(crashed.to_string() == "crashed: killed by SIGABRT");

    Result violation = run({"/bin/sh", "-c", "kill -SYS $$"}, quick);
    CHECK(violation.outcome == Outcome::violation);

    Result hung = run({"/bin/sleep", "5"}, quick);
    CHECK(hung.outcome == Outcome::timeout);

    Result missing = run({"/nonexistent/program"}, quick);
    CHECK(missing.outcome == Outcome::setup_error);
}

TEST_CASE("output_beyond_the_limit_is_dropped_not_buffered") {
    Limits small;
    small.max_output_bytes = 1000;
    Result r = run({"/bin/sh", "-c", "head -c 100000 /dev/zero"}, small);
    CHECK(r.outcome == Outcome::ok);
    CHECK(r.out.size() == 1000);
}
