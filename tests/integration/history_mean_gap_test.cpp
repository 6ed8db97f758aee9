// The history template's `mean_gap`: a key's reuse distances averaged across evictions, so a key
// whose last gap was short by accident is not mistaken for one that comes back soon.
#include "test_support.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <fstream>

using namespace aicache;

namespace {

// 30 steady keys, each back every 34 requests, and per round two bursty keys used twice in a row,
// each back only 25 rounds (850 requests) later. By its last gap a bursty key looks like the
// hottest of all (1); by its mean gap it is the coldest.
std::string write_steady_and_bursty(const std::filesystem::path &dir) {
    const auto file = (dir / "steady_bursty.txt").string();
    std::ofstream out(file);
    for (int round = 0; round < 300; ++round) {
        for (int i = 0; i < 30; ++i) out << "a" << i << "\n";
        for (int b : {2 * round % 50, (2 * round + 1) % 50}) out << "b" << b << "\nb" << b << "\n";
    }
    return file;
}

double hit_ratio(const test::TempDir &dir, const std::string &trace, const std::string &label, const std::string &priority,
                 const std::string &gap_memory) {
    const auto file = (dir.path() / (label + ".cpp")).string();
    const std::string data = "--data=" + (dir.path() / "data").string();
    auto generated = test::run_aicache({"patch", data, "generate", "history", "--set", "priority=" + priority, "--set", "gap_memory=" + gap_memory,
                                        "--set", "history=8", "-o", file});
    REQUIRE_MESSAGE(generated.exit_code == 0, generated.out << generated.err);
    auto checked = test::run_aicache({"patch", data, "check", file, "--trial", "--trace", trace, "--size", "36", "--json"}, std::chrono::seconds(240));
    INFO(priority << " / " << gap_memory << ": " << checked.out << checked.err);
    REQUIRE(checked.exit_code == 0);
    const nlohmann::json report = nlohmann::json::parse(checked.out);
    CHECK(report["trial"]["conformant"] == true);
    return report["trial"]["comparisons"][0]["candidate_hit_ratio"].get<double>();
}

} // namespace

TEST_CASE("mean_gap keeps the keys that come back steadily, where the last gap keeps the bursty ones") {
    test::TempDir dir;
    const std::string trace = write_steady_and_bursty(dir.path());
    const double by_gap = hit_ratio(dir, trace, "by-gap", "0 - gap", "0.95");
    const double by_mean = hit_ratio(dir, trace, "by-mean", "0 - mean_gap", "0.5");
    CHECK(by_gap < 0.2);   // measured 0.125: the steady keys are evicted for the bursty ones
    CHECK(by_mean > 0.8);  // measured 0.858 (LRU: 0.938)
    // Remembering nothing of earlier gaps, the mean is the last gap: the same patch.
    CHECK(hit_ratio(dir, trace, "by-mean-of-one", "0 - mean_gap", "0") == by_gap);
}
