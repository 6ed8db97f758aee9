// Our policies against independently computed figures: the miss counts libCacheSim's own test
// suite pins (test/test_evictionAlgo.c) for the same CloudPhysics oracleGeneral trace at 128 MiB
// steps up to 1 GiB. Exact where the algorithm is the same; within a stated margin where the
// README explains a deliberate difference. Skips when ../shared/data is absent.
#include "replay/belady.hpp"
#include "replay/replay.hpp"
#include "test_support.hpp"

#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <optional>

using namespace aicache;

namespace {

using Misses = std::array<uint64_t, 8>;

const replay::Trace *cloudphysics() {
    static std::optional<replay::Trace> trace;
    if (!trace) {
        auto data = test::shared_data_dir();
        if (data.empty()) return nullptr;
        auto loaded = replay::read_trace(data / "traces" / "cloudphysics.oracleGeneral.bin");
        REQUIRE(loaded);
        trace = std::move(loaded.value());
    }
    return &*trace;
}

Misses misses(const replay::Trace &trace, const std::string &policy) {
    auto library = loader::PluginLibrary::load_file(test::plugin_path(policy));
    REQUIRE(library);
    Misses out{};
    for (size_t i = 0; i < out.size(); ++i) {
        replay::ReplayOptions options;
        options.capacity_bytes = (i + 1) * 128ull * 1024 * 1024;
        auto result = replay::run_replay(trace, *library, options);
        REQUIRE(result);
        out[i] = result->requests - result->hits;
    }
    return out;
}

void check_within(const Misses &ours, const Misses &theirs, double margin) {
    for (size_t i = 0; i < ours.size(); ++i) {
        INFO("at " << (i + 1) * 128 << " MiB: ours " << ours[i] << ", libCacheSim " << theirs[i]);
        CHECK(std::fabs(double(ours[i]) - double(theirs[i])) <= margin * double(theirs[i]));
    }
}

} // namespace

TEST_CASE("lru_fifo_lfu_and_sieve_miss_exactly_as_libcachesim_on_cloudphysics") {
    const replay::Trace *trace = cloudphysics();
    if (trace == nullptr) {
        MESSAGE("skipped: ../shared/data is absent");
        return;
    }
    CHECK(trace->requests.size() == 113'872);
    CHECK(misses(*trace, "lru") == Misses{93374, 89783, 83572, 81722, 72494, 72104, 71972, 71704});
    CHECK(misses(*trace, "fifo") == Misses{93403, 89386, 84387, 84025, 72498, 72228, 72182, 72140});
    CHECK(misses(*trace, "lfu") == Misses{91699, 86720, 78578, 76707, 69945, 66221, 64445, 64376});
    CHECK(misses(*trace, "sieve") == Misses{91699, 86720, 78578, 76707, 69945, 66221, 64445, 64376});
}

TEST_CASE("s3fifo_arc_lirs_and_belady_stay_close_to_libcachesim_on_cloudphysics") {
    const replay::Trace *trace = cloudphysics();
    if (trace == nullptr) {
        MESSAGE("skipped: ../shared/data is absent");
        return;
    }
    // libCacheSim's S3-FIFOv0 is the paper's design, which ours follows.
    check_within(misses(*trace, "s3fifo"), Misses{89307, 82387, 77041, 76791, 71300, 70343, 70455, 70355}, 0.001);
    // ARC and LIRS adapt after the host has chosen victims and bound their ghosts differently (see
    // their READMEs): measured gaps at most 2.7% (ARC) and 8.3% (LIRS, at 384 MiB).
    check_within(misses(*trace, "arc"), Misses{90252, 85861, 78168, 74297, 67381, 65685, 64439, 64772}, 0.03);
    check_within(misses(*trace, "lirs"), Misses{89819, 79237, 73143, 70363, 68405, 64494, 58640, 53924}, 0.09);
    // Our Belady also declines objects that never return, so it may only miss less.
    Misses theirs{79256, 70724, 65481, 61594, 59645, 57599, 50873, 48974};
    for (size_t i = 0; i < theirs.size(); ++i) {
        uint64_t ours = trace->requests.size() - replay::run_belady(*trace, (i + 1) * 128ull * 1024 * 1024).hits;
        INFO("belady at " << (i + 1) * 128 << " MiB: ours " << ours << ", libCacheSim " << theirs[i]);
        CHECK(ours <= theirs[i]);
        CHECK(double(ours) >= 0.995 * double(theirs[i]));
    }
}
