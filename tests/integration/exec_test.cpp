// `aicache exec` and the cache commands, on a real data directory, with and without a host.
#include "learning/request_log.hpp"
#include "server/control_socket.hpp"
#include "test_support.hpp"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <fstream>

using namespace aicache;

namespace {

sandbox::Result run_cli(const test::TempDir &dir, std::vector<std::string> args) {
    args.insert(args.begin() + 1, "--data=" + (dir.path() / "data").string());
    return test::run_aicache(args);
}

sandbox::Result exec(const test::TempDir &dir, const std::string &script) {
    return run_cli(dir, {"exec", "--context", "path", "--", "/bin/sh", "-c", script});
}

} // namespace

TEST_CASE("exec_replays_a_successful_run_and_keeps_stdout_and_stderr_apart") {
    test::TempDir dir;
    const std::string script = "echo out-$(date +%s%N); echo err-line >&2";
    sandbox::Result first = exec(dir, script);
    INFO(first.out << first.err);
    REQUIRE(first.outcome == sandbox::Outcome::ok);
    sandbox::Result second = exec(dir, script);
    REQUIRE(second.outcome == sandbox::Outcome::ok);
    CHECK(second.out == first.out); // the timestamp proves the command did not run again
    CHECK(second.err == "err-line\n");

    // Both runs are in the request log: a miss with the output's size, then a hit on the same key.
    auto records = learning::read_request_log(dir.path() / "data" / "requests.arl");
    REQUIRE(records);
    REQUIRE(records->size() == 2);
    CHECK((*records)[0].outcome == learning::RequestOutcome::miss);
    CHECK((*records)[1].outcome == learning::RequestOutcome::hit);
    CHECK((*records)[0].key_hash == (*records)[1].key_hash);
    CHECK((*records)[0].size_bytes > first.out.size());
    CHECK((*records)[0].source == learning::RequestSource::exec);
}

TEST_CASE("exec_preserves_the_exit_status_and_never_caches_failures") {
    test::TempDir dir;
    auto counter = dir.path() / "runs";
    const std::string script = "echo run >> " + counter.string() + "; exit 3";
    CHECK(exec(dir, script).exit_code == 3);
    CHECK(exec(dir, script).exit_code == 3);
    std::ifstream in(counter);
    int lines = 0;
    for (std::string line; std::getline(in, line);) ++lines;
    CHECK(lines == 2);
    sandbox::Result missing = run_cli(dir, {"exec", "--", "/no/such/tool"});
    CHECK(missing.exit_code == 127);
    CHECK(missing.err.find("cannot run") != std::string::npos);
}

TEST_CASE("the_model_selecting_environment_is_part_of_the_key") {
    test::TempDir dir;
    const std::string script = "echo $(date +%s%N)";
    ::setenv("OPENAI_MODEL", "model-a", 1);
    sandbox::Result a = exec(dir, script);
    ::setenv("OPENAI_MODEL", "model-b", 1);
    sandbox::Result b = exec(dir, script);
    ::setenv("OPENAI_MODEL", "model-a", 1);
    sandbox::Result a_again = exec(dir, script);
    ::unsetenv("OPENAI_MODEL");
    CHECK(a.out != b.out);
    CHECK(a_again.out == a.out);
}

TEST_CASE("list_inspect_stats_and_clear_show_and_remove_cached_answers") {
    test::TempDir dir;
    REQUIRE(exec(dir, "echo first answer").outcome == sandbox::Outcome::ok);
    REQUIRE(exec(dir, "echo second answer").outcome == sandbox::Outcome::ok);
    sandbox::Result list = run_cli(dir, {"list"});
    INFO(list.out << list.err);
    REQUIRE(list.outcome == sandbox::Outcome::ok);
    CHECK(list.out.find("echo first answer") != std::string::npos);
    CHECK(list.out.find("echo second answer") != std::string::npos);
    std::string key = list.out.substr(list.out.find('\n') + 1, 16);
    sandbox::Result inspect = run_cli(dir, {"inspect", key.substr(0, 8)});
    INFO(inspect.out << inspect.err);
    REQUIRE(inspect.outcome == sandbox::Outcome::ok);
    CHECK(inspect.out.find("answer\n") != std::string::npos);
    sandbox::Result stats = run_cli(dir, {"stats", "--json"});
    REQUIRE(stats.outcome == sandbox::Outcome::ok);
    CHECK(nlohmann::json::parse(stats.out)["stored_entries"] == 2);
    sandbox::Result keep = run_cli(dir, {"clear", "--older-than", "1d"});
    CHECK(keep.out == "removed 0 cached answers\n");
    sandbox::Result other_tenant = run_cli(dir, {"clear", "--tenant", "nobody"});
    CHECK(other_tenant.out == "removed 0 cached answers\n");
    sandbox::Result all = run_cli(dir, {"clear"});
    CHECK(all.out == "removed 2 cached answers\n");
    CHECK(run_cli(dir, {"list"}).out == "the cache is empty\n");
    CHECK(run_cli(dir, {"inspect", "00"}).exit_code != 0);
}

TEST_CASE("exec_goes_through_a_running_host") {
    test::TempDir dir;
    auto data = dir.path() / "data";
    test::Background host({test::aicache_exe().string(), "serve", "--data", data.string(), "--listen", "127.0.0.1:0", "--no-watch"},
                          dir.path() / "serve.log");
    bool up = test::eventually([&] { return server::control_request(data / "control.sock", {{"op", "ping"}}).has_value(); },
                               std::chrono::seconds(60));
    REQUIRE(up);
    REQUIRE(exec(dir, "echo via the host").outcome == sandbox::Outcome::ok);
    REQUIRE(exec(dir, "echo via the host").outcome == sandbox::Outcome::ok);
    auto stats = server::control_request(data / "control.sock", {{"op", "cache.stats"}});
    REQUIRE(stats);
    auto json = nlohmann::json::parse(*stats);
    CHECK(json["hits"] == 1);   // the host's memory tier answered the second run
    CHECK(json["entries"] == 1);
}
