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

TEST_CASE("output_beyond_the_limit_stops_the_child_as_a_resource_outcome_and_is_not_buffered") {
    Limits small;
    small.max_output_bytes = 1000;
    Result r = run({"/bin/sh", "-c", "head -c 100000 /dev/zero; sleep 5"}, small);
    CHECK(r.outcome == Outcome::resource);
    CHECK(r.reason.find("more than 1000 bytes") != std::string::npos);
    CHECK(r.out.size() <= 1000);
}

TEST_CASE("the child reads its stdin, and one that ignores it does not take the supervisor down") {
    Result echoed = run({"/bin/cat"}, Limits{}, std::string_view("a patch, say"));
    CHECK(echoed.outcome == Outcome::ok);
    CHECK(echoed.out == "a patch, say");
    // 4 MiB into a child that exits at once: the pipe breaks mid-write (SIGPIPE must not kill us).
    const std::string big(4u << 20, 'x');
    Result ignored = run({"/bin/true"}, Limits{}, big);
    CHECK(ignored.outcome == Outcome::ok);
}

TEST_CASE("a child that exits for lack of memory is a resource outcome, not a failure") {
    Limits limits;
    limits.address_space_bytes = 1ull << 30;
    Result oom = run({"/bin/sh", "-c", "echo 'out of memory' >&2; exit " + std::to_string(kExitOutOfMemory)}, limits);
    CHECK(oom.outcome == Outcome::resource);
    CHECK(oom.reason.find("1024 MiB") != std::string::npos);
    CHECK(oom.last_words() == "out of memory");
    Result plain = run({"/bin/sh", "-c", "exit 3"}, limits);
    CHECK(plain.outcome == Outcome::failed);
}
