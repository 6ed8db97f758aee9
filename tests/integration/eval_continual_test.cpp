// `aicache eval drift` and `aicache eval transfer` through the real binary and the real encoder
// plugin, on generated pairs of two domains (everyday tasks, computing tasks): every mode and
// every point of the curve is measured on held-out questions, and each mode trains the way it says.
#include "paraphrase_pairs.hpp"
#include "test_support.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

using namespace aicache;

namespace {
const std::vector<std::string> kSmall = {"--target-error", "0.2", "--confidence-z", "0", "--validation-share", "0.2", "--test-share", "0.2", "--json"};

nlohmann::json run_json(std::vector<std::string> args) {
    args.insert(args.end(), kSmall.begin(), kSmall.end());
    sandbox::Result run = test::run_aicache(args, std::chrono::seconds(240));
    INFO(run.out << run.err);
    REQUIRE(run.outcome == sandbox::Outcome::ok);
    return nlohmann::json::parse(run.out);
}
} // namespace

TEST_CASE("eval drift trains on A, then on B three ways from one checkpoint, and reports what each forgot of A") {
    test::TempDir dir;
    auto a = test::write_paraphrase_pairs(dir.path() / "a.jsonl", 0, 40), b = test::write_paraphrase_pairs(dir.path() / "b.jsonl", 40, 40);
    nlohmann::json out = run_json({"eval", "drift", a.string(), b.string(), "--budget-a", "3", "--budget-b", "2"});
    REQUIRE(out["runs"].size() == 1);
    const nlohmann::json &run = out["runs"][0];
    REQUIRE(run["modes"].size() == 3);
    CHECK(run["modes"][0]["mode"] == "naive");
    CHECK(run["modes"][2]["mode"] == "replay+ewc");
    const double a_after_a = run["after_a"]["a"]["hit_rate"].get<double>();
    CHECK(a_after_a > 0.3); // the generated paraphrases are learnable
    for (const auto &m : run["modes"]) {
        INFO(m.dump());
        CHECK(m["forgetting_points"].get<double>() == doctest::Approx(100 * (a_after_a - m["a"]["hit_rate"].get<double>())));
        CHECK(m["b"]["positives"].get<int>() > 0);
        CHECK(m["auc_a"].get<double>() > 0.5);
        // Each mode trained as it says: only the replaying ones mixed remembered A pairs in.
        const bool replays = m["mode"] != "naive";
        CHECK((m["train_metrics"].value("replayed_pairs", 0) > 0) == replays);
        CHECK((m["train_metrics"].value("ewc_lambda", 0.0) > 0) == (m["mode"] == "replay+ewc"));
    }
    CHECK(out["summary"]["modes"].size() == 3);
    CHECK(out["target"].contains("status"));
    sandbox::Result missing = test::run_aicache({"eval", "drift", a.string(), (dir.path() / "none.jsonl").string()});
    CHECK(missing.exit_code != 0);
    CHECK(missing.err.find("none.jsonl") != std::string::npos);
}

TEST_CASE("eval drift under step budgets takes exactly those steps, repeats with seeds, and a rerun gives the same numbers") {
    test::TempDir dir;
    auto a = test::write_paraphrase_pairs(dir.path() / "a.jsonl", 0, 40), b = test::write_paraphrase_pairs(dir.path() / "b.jsonl", 40, 40);
    const std::vector<std::string> args = {"eval", "drift", a.string(), b.string(), "--steps-a", "90",
                                           "--steps-b", "50", "--runs", "2", "--seed", "4"};
    nlohmann::json out = run_json(args);
    REQUIRE(out["runs"].size() == 2);
    CHECK(out["runs"][0]["seed"] == 4);
    CHECK(out["runs"][1]["seed"] == 5);
    for (const auto &run : out["runs"]) {
        CHECK(run["after_a"]["train_metrics"]["total_steps"] == 90);
        for (const auto &m : run["modes"]) {
            INFO(m.dump());
            CHECK(m["train_metrics"]["total_steps"] == 140); // the checkpoint's 90 and this mode's 50
            CHECK(m["train_metrics"]["train_steps_left"] == 0);
        }
    }
    for (const auto &m : out["summary"]["modes"]) CHECK(m["forgetting_points"]["n"] == 2);
    // The clock bounds nothing: the same seeds give the same figures.
    nlohmann::json again = run_json(args);
    CHECK(again["summary"] == out["summary"]);
}

TEST_CASE("eval transfer measures a learning curve, fine-tuned against scratch, on the target's held-out questions") {
    test::TempDir dir;
    auto pretrain = test::write_paraphrase_pairs(dir.path() / "p.jsonl", 0, 40), target = test::write_paraphrase_pairs(dir.path() / "t.jsonl", 40, 40);
    auto plot = dir.path() / "curve.svg";
    nlohmann::json out = run_json({"eval", "transfer", pretrain.string(), target.string(), "--labels", "20,80", "--pretrain-seconds", "3",
                                   "--finetune-seconds", "1", "--plot", plot.string()});
    REQUIRE(out["curve"].size() == 2);
    CHECK(out["curve"][0]["labels"] == 20);
    CHECK(out["curve"][1]["labels"] == 80);
    // Every arm and every point is measured on the same held-out target questions.
    const int positives = out["pretrained_only"]["positives"].get<int>(), negatives = out["pretrained_only"]["negatives"].get<int>();
    CHECK(positives > 0);
    for (const auto &p : out["curve"])
        for (const char *arm : {"fine_tuned", "scratch"}) {
            CHECK(p[arm]["positives"].get<int>() == positives);
            CHECK(p[arm]["negatives"].get<int>() == negatives);
        }
    CHECK(std::filesystem::file_size(plot) > 1000);
}
