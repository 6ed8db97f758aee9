// The operator's commands against a data directory with no host running.
#include "test_support.hpp"

#include <doctest/doctest.h>

using namespace aicache;

TEST_CASE("load_list_history_and_rollback_work_without_a_running_host") {
    test::TempDir dir;
    std::string data = "--data=" + dir.path().string();
    auto v1 = (test::build_dir() / "fixtures" / "v1" / "versioned.so").string();
    auto v2 = (test::build_dir() / "fixtures" / "v2" / "versioned.so").string();

    sandbox::Result load1 = test::run_aicache({"plugin", data, "load", v1});
    INFO(load1.out << load1.err);
    REQUIRE(load1.outcome == sandbox::Outcome::ok);
    CHECK(load1.out.find("loaded versioned 1.0.0 as version #1") != std::string::npos);
    sandbox::Result load2 = test::run_aicache({"plugin", data, "load", v2});
    REQUIRE(load2.outcome == sandbox::Outcome::ok);
    CHECK(load2.out.find("versioned 2.0.0 as version #2") != std::string::npos);

    sandbox::Result list = test::run_aicache({"plugin", data, "list"});
    REQUIRE(list.outcome == sandbox::Outcome::ok);
    CHECK(list.out.find("versioned") != std::string::npos);
    CHECK(list.out.find("2.0.0") != std::string::npos);

    sandbox::Result rollback = test::run_aicache({"plugin", data, "rollback", "versioned"});
    INFO(rollback.out << rollback.err);
    REQUIRE(rollback.outcome == sandbox::Outcome::ok);
    CHECK(rollback.out.find("rolled back to versioned 1.0.0 as version #1") != std::string::npos);

    sandbox::Result history = test::run_aicache({"plugin", data, "history", "versioned"});
    REQUIRE(history.outcome == sandbox::Outcome::ok);
    CHECK(history.out.find("activate") != std::string::npos);
    CHECK(history.out.find("rollback") != std::string::npos);
    CHECK(history.out.find("<- active") != std::string::npos);

    sandbox::Result to = test::run_aicache({"plugin", data, "rollback", "versioned", "--to", "#2"});
    REQUIRE(to.outcome == sandbox::Outcome::ok);
    CHECK(to.out.find("versioned 2.0.0 as version #2") != std::string::npos);

    // A broken build is refused and the active version stays.
    sandbox::Result broken = test::run_aicache({"plugin", data, "load", test::fixture_path("throws").string()});
    CHECK(broken.outcome == sandbox::Outcome::failed);
    CHECK(broken.err.find("boom") != std::string::npos);
    sandbox::Result unknown = test::run_aicache({"plugin", data, "rollback", "versioned", "--to", "7.7.7"});
    CHECK(unknown.outcome == sandbox::Outcome::failed);
    CHECK(unknown.err.find("has no version \"7.7.7\"") != std::string::npos);
}
