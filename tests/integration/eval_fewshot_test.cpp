// `aicache eval fewshot` through the real binary and encoder plugin, on generated paraphrase
// clusters (one task asked four ways): each number of verified members is measured against none
// on the same clusters, pooled both ways, with wrong answers held to the target.
#include "paraphrase_pairs.hpp"
#include "test_support.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

using namespace aicache;

TEST_CASE("eval fewshot measures 1 and 2 verified paraphrases against none, on held-out clusters, within the false-hit target") {
    test::TempDir dir;
    auto pairs = test::write_paraphrase_pairs(dir.path() / "pairs.jsonl", 0, test::kParaphraseTasks);
    sandbox::Result run = test::run_aicache({"eval", "fewshot", pairs.string(), "--shots", "1,2", "--budget-seconds", "3", "--distractors", "50",
                                             "--target-error", "0.1", "--json"},
                                            std::chrono::seconds(240));
    INFO(run.out << run.err);
    REQUIRE(run.outcome == sandbox::Outcome::ok);
    nlohmann::json out = nlohmann::json::parse(run.out);
    CHECK(out["cached_clusters"].get<int>() > 5);
    CHECK(out["uncached_clusters"].get<int>() > 5);
    CHECK(out["distractors"].get<int>() == 50);
    REQUIRE(out["arms"].size() == 8); // per shots value: none and n, nearest and attention
    for (const auto &arm : out["arms"]) {
        INFO(arm.dump());
        CHECK(arm["false_hit_rate"].get<double>() <= 0.1);
        CHECK(arm["positives"].get<int>() == arm["clusters"].get<int>());
        CHECK(arm["questions"].get<int>() == arm["clusters"].get<int>() + out["uncached_clusters"].get<int>());
        // The wrong answers shown are ones given at the operating point.
        CHECK(arm["wrong_examples"].size() == std::min<size_t>(10, arm["wrong"].get<size_t>()));
        for (const auto &w : arm["wrong_examples"]) CHECK(w["score"].get<double>() >= arm["threshold"].get<double>());
    }
    // Two verified members, pooled by attention, answer at least as many as the entry alone.
    const auto &none = out["arms"][6], two = out["arms"][7];
    REQUIRE(two["shots"] == 2);
    REQUIRE(two["pooling"] == "attention");
    CHECK(none["shots"] == 0);
    CHECK(two["hit_rate"].get<double>() >= none["hit_rate"].get<double>());
    CHECK(two["right"].get<int>() > 0);

    sandbox::Result bad = test::run_aicache({"eval", "fewshot", (dir.path() / "none.jsonl").string()});
    CHECK(bad.exit_code != 0);
    CHECK(bad.err.find("none.jsonl") != std::string::npos);
}
