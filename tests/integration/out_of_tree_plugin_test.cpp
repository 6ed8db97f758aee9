// A plugin author's path: copy plugins/policies/_template/, build it out of tree with
// find_package(aicache), and the host loads it.
#include "test_support.hpp"

#include <doctest/doctest.h>

using namespace aicache;

TEST_CASE("the_template_builds_out_of_tree_and_passes_check") {
    test::TempDir dir;
    auto src = dir.path() / "my_policy";
    std::filesystem::copy(test::source_dir() / "plugins" / "policies" / "_template", src, std::filesystem::copy_options::recursive);
    auto build = dir.path() / "build";
    sandbox::Limits limits;
    limits.wall_time = std::chrono::minutes(4);
    limits.max_output_bytes = 1 << 16;
    sandbox::Result configure = sandbox::run({"/usr/bin/cmake", "-S", src.string(), "-B", build.string(), "-G", "Ninja",
                                              "-DCMAKE_BUILD_TYPE=Release", "-Daicache_DIR=" + test::build_dir().string()},
                                             limits);
    INFO(configure.out << configure.err);
    REQUIRE(configure.outcome == sandbox::Outcome::ok);
    sandbox::Result compile = sandbox::run({"/usr/bin/cmake", "--build", build.string()}, limits);
    INFO(compile.out << compile.err);
    REQUIRE(compile.outcome == sandbox::Outcome::ok);
    auto library = build / "my_policy.so";
    REQUIRE(std::filesystem::exists(library));

    sandbox::Result check = test::run_aicache({"plugin", "check", library.string()});
    INFO(check.out << check.err);
    CHECK(check.outcome == sandbox::Outcome::ok);
    CHECK(check.out.rfind("ok my_policy 0.1.0", 0) == 0);

    sandbox::Result loaded = test::run_aicache({"plugin", "--data", (dir.path() / "data").string(), "load", library.string()});
    INFO(loaded.out << loaded.err);
    CHECK(loaded.outcome == sandbox::Outcome::ok);
    sandbox::Result replay = test::run_aicache({"replay", "--policy", library.string(), "--requests", "20000", "--size", "5%"});
    INFO(replay.out << replay.err);
    CHECK(replay.outcome == sandbox::Outcome::ok);
    CHECK(replay.out.find("my_policy") != std::string::npos);
}
