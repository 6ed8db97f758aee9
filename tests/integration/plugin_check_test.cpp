// `aicache plugin check` against good plugins and every broken-on-purpose fixture.
#include "core/files.hpp"
#include "test_support.hpp"

#include <doctest/doctest.h>

#include <algorithm>

using namespace aicache;

namespace {

void expect_refused(const std::filesystem::path &file, const std::string &reason, const std::vector<std::string> &extra = {}) {
    std::vector<std::string> args{"plugin", "check", file.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    sandbox::Result r = test::run_aicache(args);
    INFO(file.string() << " -> " << r.out << r.err);
    CHECK(r.outcome == sandbox::Outcome::failed);
    CHECK(r.out.rfind("FAIL ", 0) == 0);
    CHECK(r.out.find(reason) != std::string::npos);
    CHECK(std::count(r.out.begin(), r.out.end(), '\n') == 1); // a one-line verdict
}

} // namespace

TEST_CASE("check_passes_a_good_plugin_with_a_one_line_verdict") {
    sandbox::Result r = test::run_aicache({"plugin", "check", test::plugin_path("s3fifo").string()});
    INFO(r.out << r.err);
    CHECK(r.outcome == sandbox::Outcome::ok);
    CHECK(r.out.rfind("ok s3fifo 1.0.0 (policy, ABI 1.1", 0) == 0);
    CHECK(r.out.find("6 conformance checks passed") != std::string::npos);
}

TEST_CASE("check_refuses_each_broken_fixture_with_its_reason") {
    expect_refused(test::fixture_path("wrong_abi"), "ABI major 2, host speaks 1");
    expect_refused(test::fixture_path("small_struct"), "struct too small");
    expect_refused(test::fixture_path("no_entry"), "no exported aicache_plugin_init");
    expect_refused(test::fixture_path("gnu_unique"), "GNU-unique");
    expect_refused(test::fixture_path("throws"), "boom: this fixture throws from on_insert");
    expect_refused(test::fixture_path("aborts"), "crashed: killed by SIGABRT");
    expect_refused(test::fixture_path("hangs"), "timeout", {"--timeout", "1.5"});
}

TEST_CASE("check_refuses_files_that_are_not_plugins") {
    test::TempDir dir;
    auto text = dir.path() / "notes.so";
    REQUIRE(write_file_atomic(text, "this is not a library\n"));
    expect_refused(text, "not an ELF file");

    auto bytes = read_file(test::plugin_path("lru"));
    REQUIRE(bytes);
    auto truncated = dir.path() / "truncated.so";
    REQUIRE(write_file_atomic(truncated, std::string_view(*bytes).substr(0, bytes->size() / 3)));
    expect_refused(truncated, "truncated");

    expect_refused(dir.path() / "missing.so", "no such file");
}
