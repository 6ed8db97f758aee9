// Remembered qualifications: the same plugin bytes under the same aicache binary pass without a
// child; anything else (other bytes, another binary, a refusal, a damaged record) is examined anew.
// A 1 ms timeout is the probe: no child can start and pass in 1 ms, so a pass under it means the
// record was used, and a failure means a child ran.
#include "core/files.hpp"
#include "loader/qualification_cache.hpp"
#include "test_support.hpp"

#include <doctest/doctest.h>

#include <fstream>

using namespace aicache;

namespace {

loader::QualifyOptions options(std::chrono::milliseconds timeout, const std::filesystem::path &exe = test::aicache_exe()) {
    loader::QualifyOptions o;
    o.aicache_exe = exe;
    o.timeout = timeout;
    return o;
}

std::vector<std::filesystem::path> records(const std::filesystem::path &dir) {
    std::vector<std::filesystem::path> found;
    std::error_code ec;
    for (const auto &entry : std::filesystem::directory_iterator(dir, ec)) found.push_back(entry.path());
    return found;
}

void append_byte(const std::filesystem::path &file) {
    std::ofstream(file, std::ios::binary | std::ios::app).put('\0');
}

constexpr std::chrono::milliseconds kNoTimeForAChild{1};

} // namespace

TEST_CASE("a_pass_is_remembered_for_the_same_bytes_under_the_same_binary") {
    test::TempDir dir;
    const auto plugin = dir.path() / "lru.so";
    std::filesystem::copy_file(test::plugin_path("lru"), plugin);
    const auto cache = dir.path() / "qualified";

    loader::Verdict first = loader::qualify_remembered(plugin, options(std::chrono::seconds(10)), cache);
    REQUIRE_MESSAGE(first.status, first.status.message());
    CHECK(first.summary.find("6 conformance checks passed") != std::string::npos);
    CHECK(first.content_hash.size() == 64);
    REQUIRE(records(cache).size() == 1);

    loader::Verdict again = loader::qualify_remembered(plugin, options(kNoTimeForAChild), cache);
    CHECK_MESSAGE(again.status, again.status.message());
    CHECK(again.summary == first.summary);
    CHECK(again.content_hash == first.content_hash);

    SUBCASE("other bytes are qualified again") {
        append_byte(plugin);
        loader::Verdict changed = loader::qualify_remembered(plugin, options(kNoTimeForAChild), cache);
        CHECK(changed.status.code() == Errc::timeout);
    }
    SUBCASE("another binary qualifies again") {
        const auto other_exe = dir.path() / "aicache";
        std::filesystem::copy_file(test::aicache_exe(), other_exe);
        append_byte(other_exe);
        loader::Verdict other = loader::qualify_remembered(plugin, options(kNoTimeForAChild, other_exe), cache);
        CHECK(other.status.code() == Errc::timeout);
    }
    SUBCASE("a damaged record is not trusted") {
        REQUIRE(write_file_atomic(records(cache).front(), "{\"summary\": \"forged\"}\n"));
        loader::Verdict forged = loader::qualify_remembered(plugin, options(kNoTimeForAChild), cache);
        CHECK(forged.status.code() == Errc::timeout);
    }
}

TEST_CASE("a_refusal_is_not_remembered") {
    test::TempDir dir;
    const auto cache = dir.path() / "qualified";
    loader::Verdict refused = loader::qualify_remembered(test::fixture_path("throws"), options(std::chrono::seconds(10)), cache);
    CHECK_FALSE(refused.status);
    CHECK(refused.status.message().find("boom") != std::string::npos);
    CHECK(records(cache).empty());
}

TEST_CASE("a_cache_folder_that_cannot_be_written_costs_only_time") {
    test::TempDir dir;
    const auto blocked = dir.path() / "not-a-folder";
    REQUIRE(write_file_atomic(blocked, "a file where the cache folder would be\n"));
    loader::Verdict verdict = loader::qualify_remembered(test::plugin_path("lru"), options(std::chrono::seconds(10)), blocked);
    CHECK_MESSAGE(verdict.status, verdict.status.message());
}
