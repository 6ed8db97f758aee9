// `aicache eval semantic` through the real binary with the real encoder plugin (LibTorch) on a
// slice of the shared Quora pairs: the baselines and the learner are measured in one run on
// questions held out from training, and training does what it is for.
#include "test_support.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

using namespace aicache;

TEST_CASE("eval semantic trains the encoder on one split and measures it and the baselines on held-out questions") {
    auto pairs = test::shared_data_dir() / "semantic" / "quora_val_pairs.jsonl";
    if (test::shared_data_dir().empty() || !std::filesystem::exists(pairs)) {
        MESSAGE("skipped: ../shared/data/semantic/quora_val_pairs.jsonl is absent");
        return;
    }
    test::TempDir dir;
    auto plot = dir.path() / "curves.svg";
    auto checkpoint = dir.path() / "encoder.ckpt";
    sandbox::Result run = test::run_aicache({"eval", "semantic", pairs.string(), "--limit", "4000", "--budget-seconds", "8", "--json", "--plot",
                                             plot.string(), "--save-checkpoint", checkpoint.string()},
                                            std::chrono::seconds(240));
    INFO(run.out << run.err);
    REQUIRE(run.outcome == sandbox::Outcome::ok);
    nlohmann::json out = nlohmann::json::parse(run.out);
    CHECK(out["split"]["test"].get<int>() > 500);
    CHECK(out["split"]["train"].get<int>() > 2500);
    REQUIRE(out["methods"].size() == 4);
    std::map<std::string, nlohmann::json> by_name;
    for (const auto &m : out["methods"]) by_name[m["name"].get<std::string>()] = m;
    REQUIRE(by_name.count("tfidf-cosine"));
    REQUIRE(by_name.count("encoder-relation-head"));
    for (const auto &[name, m] : by_name) {
        CHECK(m["chosen"]["positives"].get<int>() + m["chosen"]["negatives"].get<int>() == out["split"]["test"].get<int>());
        CHECK(m["oracle"]["false_hit_rate"].get<double>() <= 0.02);
    }
    // Training helps: the trained encoder separates held-out paraphrases better than its untrained self.
    CHECK(by_name["encoder-trained-cosine"]["oracle"]["hit_rate"].get<double>() > by_name["encoder-untrained-cosine"]["oracle"]["hit_rate"].get<double>());
    CHECK(out["train_metrics"]["total_steps"].get<int>() > 20);
    CHECK(std::filesystem::file_size(plot) > 1000);
    // The trained encoder's checkpoint, for `serve --encoder-checkpoint`: the learner reads it back.
    sandbox::Result check = test::run_aicache({"plugin", "check", test::plugin_path("encoder").string(), "--timeout", "120"});
    CHECK(check.outcome == sandbox::Outcome::ok);
    CHECK(std::filesystem::file_size(checkpoint) > (1u << 20));

    sandbox::Result bad = test::run_aicache({"eval", "semantic", (dir.path() / "none.jsonl").string()});
    CHECK(bad.exit_code != 0);
    CHECK(bad.err.find("cannot open the pairs file") != std::string::npos);
}

TEST_CASE("eval threshold keeps the false-hit rate within 1.2x of each target, with cold entries exploring or not") {
    auto pairs = test::shared_data_dir() / "semantic" / "quora_val_pairs.jsonl";
    if (test::shared_data_dir().empty() || !std::filesystem::exists(pairs)) {
        MESSAGE("skipped: ../shared/data/semantic/quora_val_pairs.jsonl is absent");
        return;
    }
    for (const char *config : {"{}", "{\"cold_explores\": \"false\"}"}) {
        sandbox::Result run = test::run_aicache({"eval", "threshold", pairs.string(), "--config", config, "--json"}, std::chrono::seconds(120));
        INFO(config << "\n" << run.out << run.err);
        REQUIRE(run.outcome == sandbox::Outcome::ok);
        nlohmann::json out = nlohmann::json::parse(run.out);
        REQUIRE(out["runs"].size() == 2);
        for (const auto &r : out["runs"]) {
            CHECK(r["false_hit_rate"].get<double>() <= 1.2 * r["delta"].get<double>());
            CHECK(r["served"].get<int>() > 0);
        }
        if (std::string(config) == "{}") CHECK(out["runs"][0]["cold"].get<int>() > 5000); // most Quora questions are asked once
        else CHECK(out["runs"][1]["paraphrases_served"].get<double>() > 0.03);
    }
}
