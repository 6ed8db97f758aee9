// Optimizers that search parameters rather than code: tune (a policy's parameters by replay, the
// threshold learner's, the encoder's transfer to a second domain), canon (prompt
// canonicalizations on labelled pairs) and nas (encoder architectures by real training runs). Each
// runs through `aicache optimize run` with the real binary and plugins, and judges its best on
// data it never scored.
#include "optimize_lab.hpp"
#include "paraphrase_pairs.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <set>

using namespace aicache;
using test::Lab;
using test::parse;
using test::write_scan_trace;

TEST_CASE("tune searches a policy's parameters by replay, judges the best on the later part of the trace, and resumes") {
    Lab lab;
    auto trace = write_scan_trace(lab.dir.path() / "scan.txt").string();
    const std::string space = R"({"parameters": {"window_ratio": {"min": 0.001, "max": 0.8, "log": true},
        "protected_ratio": {"min": 0.05, "max": 0.95}}, "start": {"window_ratio": 0.01, "protected_ratio": 0.8}})";
    auto first = lab.run({"optimize", "run", "tune", "--measure", "replay", "--target", "wtinylfu", "--trace", trace, "--size", "40", "--trials",
                          "6", "--space", space, "--json"});
    REQUIRE_MESSAGE(first.exit_code == 0, first.out << first.err);
    nlohmann::json out = parse(first);
    REQUIRE(out["trials"].size() == 6);
    // The first candidate is the start point, the policy's defaults: 0 points over them.
    CHECK(out["trials"][0]["candidate"]["params"]["window_ratio"] == 0.01);
    CHECK(out["trials"][0]["score"].get<double>() == doctest::Approx(0.0));
    for (const auto &t : out["trials"]) {
        INFO(t.dump());
        CHECK(t["outcome"] == "replayed");
        CHECK(t["split"].get<std::string>().find("first 50%") != std::string::npos);
    }
    CHECK(out["best"]["score"].get<double>() >= 0.0);
    const auto &held = out["held_out"];
    CHECK(held["split"].get<std::string>().find("last 50%") != std::string::npos);
    CHECK(held["gain_points"].get<double>() ==
          doctest::Approx(held["tuned_percent"][0].get<double>() - held["defaults_percent"][0].get<double>()));

    auto resumed = lab.run({"optimize", "run", "tune", "--measure", "replay", "--target", "wtinylfu", "--trace", trace, "--size", "40",
                            "--trials", "9", "--space", space, "--json"});
    REQUIRE_MESSAGE(resumed.exit_code == 0, resumed.out << resumed.err);
    nlohmann::json again = parse(resumed);
    CHECK(again["resumed_from"] == 6);
    CHECK(again["trials"].size() == 9);
    CHECK(again["trials"][5]["candidate"] == out["trials"][5]["candidate"]);

    // Parameters the policy refuses are scored worst, and the search goes on.
    auto refused = lab.run({"optimize", "run", "tune", "--search", "too-wide", "--measure", "replay", "--target", "wtinylfu", "--trace", trace,
                            "--size", "40", "--trials", "3", "--space",
                            R"({"parameters": {"window_ratio": {"min": 0.9, "max": 0.95}}, "fixed": {"adaptive": "false"}})", "--json"});
    REQUIRE_MESSAGE(refused.exit_code == 0, refused.out << refused.err);
    nlohmann::json refused_out = parse(refused);
    CHECK_FALSE(refused_out.contains("held_out"));
    for (const auto &t : refused_out["trials"]) {
        CHECK(t["candidate"]["params"]["adaptive"] == "false"); // fixed parameters pass through
        CHECK(t["score"].get<double>() == -100);
        CHECK(t["outcome"].get<std::string>().find("window_ratio must be in [0, 0.8]") != std::string::npos);
    }
    auto bad = lab.run({"optimize", "run", "tune", "--measure", "guess"});
    CHECK(bad.exit_code != 0);
    CHECK(bad.err.find("--measure must be patch, replay, pairs, encoder, threshold or drift") != std::string::npos);
}

TEST_CASE("canon searches prompt canonicalizations on labelled pairs and judges its choice on questions it never scored") {
    Lab lab;
    auto pairs = lab.dir.path() / "pairs.jsonl";
    {
        std::ofstream out(pairs);
        for (int i = 0; i < 200; ++i) {
            std::string topic = "topic number " + std::to_string(i);
            // Positives differ in case, a trailing mark, or both; negatives share words, not meaning.
            const std::string b = i % 3 == 0 ? "how do i learn " + topic + "?" : i % 3 == 1 ? "How do I learn " + topic : "how do i learn " + topic;
            out << nlohmann::json{{"a", "How do I learn " + topic + "?"}, {"b", b}, {"label", 1}}.dump() << "\n";
            out << nlohmann::json{{"a", "How do I learn " + topic + "?"}, {"b", "How do I teach " + topic + "?"}, {"label", 0}}.dump() << "\n";
        }
    }
    auto run = lab.run({"optimize", "run", "canon", "--measure", "pairs", "--pairs", pairs.string(), "--trials", "12", "--json"});
    REQUIRE_MESSAGE(run.exit_code == 0, run.out << run.err);
    nlohmann::json out = parse(run);
    CHECK(out["trials"][0]["candidate"]["params"]["steps"] == "none");
    CHECK(out["best"]["candidate"]["params"]["steps"] == "case,punctuation");
    const auto &held = out["held_out"];
    CHECK(held["steps"] == "case,punctuation");
    CHECK(held["none"]["hits"] == 0);
    CHECK(held["chosen"]["hits"].get<int>() == held["chosen"]["positives"].get<int>());
    CHECK(held["chosen"]["false_hits"] == 0);
    auto missing = lab.run({"optimize", "run", "canon", "--search", "c2", "--measure", "pairs"});
    CHECK(missing.exit_code != 0);
    CHECK(missing.err.find("--measure pairs needs --pairs") != std::string::npos);
}

TEST_CASE("tune searches the threshold learner's parameters on a labelled stream, penalising false hits above delta, and judges the best on the rest") {
    Lab lab;
    auto pairs = lab.dir.path() / "pairs.jsonl";
    {
        std::ofstream out(pairs);
        for (int round = 0; round < 100; ++round)
            for (int i = 0; i < 40; ++i) {
                const std::string topic = "service" + std::to_string(i);
                const std::string a = "how do i configure " + topic + " on linux servers";
                // The same cached questions asked again and again: paraphrases close in words, wrong matches further.
                if (round % 3 != 0) out << nlohmann::json{{"a", a}, {"b", "how do i configure " + topic + " on linux servers please"}, {"label", 1}}.dump() << "\n";
                else out << nlohmann::json{{"a", a}, {"b", "how do i remove " + topic + " from windows laptops"}, {"label", 0}}.dump() << "\n";
            }
    }
    auto ran = lab.run({"optimize", "run", "tune", "--search", "thr", "--measure", "threshold", "--pairs", pairs.string(), "--learner-config",
                        R"({"cold_explores": "false"})", "--delta", "0.1", "--trials", "6", "--json"});
    REQUIRE_MESSAGE(ran.exit_code == 0, ran.out << ran.err);
    nlohmann::json out = parse(ran);
    REQUIRE(out["trials"].size() == 6);
    for (const auto &trial : out["trials"]) {
        INFO(trial.dump());
        REQUIRE(trial["outcome"] == "measured");
        const auto &d = trial["detail"];
        const double expected = 100 * d["paraphrases_served"].get<double>() - 10 * 100 * std::max(0.0, d["false_hit_rate"].get<double>() - 0.1);
        CHECK(trial["score"].get<double>() == doctest::Approx(expected));
        CHECK(trial["candidate"]["params"].contains("explore_rate"));
    }
    CHECK(out["trials"][0]["candidate"]["params"]["explore_rate"] == doctest::Approx(0.05)); // starts from the learner's defaults
    CHECK(out["best"]["score"].get<double>() >= out["trials"][0]["score"].get<double>());
    const auto &held = out["held_out"];
    CHECK(held["pairs"] == 2000);
    for (const char *which : {"defaults", "tuned"}) {
        INFO(which);
        CHECK(held[which]["served"].get<int>() > 0); // paraphrases recur, so both learn to serve
        CHECK(held[which]["false_hit_rate"].get<double>() <= 0.12); // the learner's bound holds (δ = 10%)
    }
    CHECK(held["params"] == out["best"]["candidate"]["params"]);

    // Parameters the learner refuses are scored worst, and the search says nothing could be measured.
    auto refused = lab.run({"optimize", "run", "tune", "--search", "bad", "--measure", "threshold", "--pairs", pairs.string(), "--trials", "2",
                            "--space", R"({"parameters": {"explore_rate": {"min": 1.5, "max": 2}}})"});
    REQUIRE_MESSAGE(refused.exit_code == 0, refused.out << refused.err);
    CHECK(refused.out.find("no configuration could be measured: refused:") != std::string::npos);
    auto missing = lab.run({"optimize", "run", "tune", "--search", "t3", "--measure", "threshold"});
    CHECK(missing.exit_code != 0);
    CHECK(missing.err.find("--measure threshold needs --pairs") != std::string::npos);
}

TEST_CASE("tune searches how the encoder carries on to a second domain, each candidate from one checkpoint on the first, and judges the best on test questions") {
    Lab lab;
    auto a = test::write_paraphrase_pairs(lab.dir.path() / "a.jsonl", 0, test::kParaphraseTasks / 2);
    auto b = test::write_paraphrase_pairs(lab.dir.path() / "b.jsonl", test::kParaphraseTasks / 2, test::kParaphraseTasks / 2);
    const std::vector<std::string> common = {"--measure", "drift", "--pairs", a.string(), "--pairs-b", b.string(), "--steps-a", "40",
                                             "--steps-b", "20", "--learner-config", R"({"buckets": 4096, "hidden": 16, "bag_dim": 16, "dim": 16})"};
    std::vector<std::string> args = {"optimize", "run", "tune", "--search", "drift", "--trials", "3", "--json"};
    args.insert(args.end(), common.begin(), common.end());
    auto ran = lab.run(args);
    REQUIRE_MESSAGE(ran.exit_code == 0, ran.out << ran.err);
    nlohmann::json out = parse(ran);
    REQUIRE(out["trials"].size() == 3);
    CHECK(out["trials"][0]["candidate"]["params"]["ewc_lambda"] == doctest::Approx(1000)); // the start
    for (const auto &trial : out["trials"]) {
        INFO(trial.dump());
        REQUIRE(trial["outcome"] == "measured");
        const auto &d = trial["detail"];
        CHECK(trial["score"].get<double>() == doctest::Approx((d["auc_a"].get<double>() + d["auc_b"].get<double>()) / 2));
        CHECK(d["auc_a"].get<double>() > 50); // trained, on questions it never saw: better than chance
        CHECK(trial["split"].get<std::string>().find("validation questions") != std::string::npos);
    }
    const auto &held = out["held_out"];
    CHECK(held["params"] == out["best"]["candidate"]["params"]);
    for (const char *which : {"defaults", "tuned"}) {
        INFO(which);
        CHECK(held[which]["mean"].get<double>() == doctest::Approx((held[which]["auc_a"].get<double>() + held[which]["auc_b"].get<double>()) / 2));
        CHECK(held[which]["auc_b"].get<double>() > 50);
    }

    std::vector<std::string> refused_args = {"optimize", "run", "tune", "--search", "bad", "--trials", "1", "--space",
                                             R"({"parameters": {"ewc_lambda": {"min": -10, "max": -1}}})"};
    refused_args.insert(refused_args.end(), common.begin(), common.end());
    auto refused = lab.run(refused_args);
    REQUIRE_MESSAGE(refused.exit_code == 0, refused.out << refused.err);
    CHECK(refused.out.find("no configuration could be measured: refused:") != std::string::npos);
    CHECK(refused.out.find("ewc_lambda") != std::string::npos);
    auto missing = lab.run({"optimize", "run", "tune", "--search", "d3", "--measure", "drift", "--pairs", a.string()});
    CHECK(missing.exit_code != 0);
    CHECK(missing.err.find("--measure drift needs --pairs A.jsonl and --pairs-b B.jsonl") != std::string::npos);
}

TEST_CASE("nas trains each architecture it asks for, then the best by population-based training, and judges the winner on test questions") {
    Lab lab;
    auto pairs = test::write_paraphrase_pairs(lab.dir.path() / "pairs.jsonl", 0, test::kParaphraseTasks);
    const nlohmann::json space = {{"architectures", 3}, {"population", 2}, {"steps", 20}, {"seeds", 2}, {"fixed", {{"buckets", 4096}}},
                                  {"choices", {{"layers", {1, 2, 7}}, {"hidden", {16, 32}}, {"activation", {"relu", "tanh"}}}},
                                  {"pbt", {{"members", 2}, {"generations", 2}, {"steps", 10}}}};
    auto run = lab.run({"optimize", "run", "nas", "--measure", "encoder", "--pairs", pairs.string(), "--trials", "7", "--space", space.dump(),
                        "--target-error", "0.2", "--json"});
    REQUIRE_MESSAGE(run.exit_code == 0, run.out << run.err);
    nlohmann::json out = parse(run);
    REQUIRE(out["trials"].size() == 7);
    std::vector<uint64_t> member_ids;
    for (const auto &t : out["trials"]) {
        CAPTURE(t.dump());
        const auto &c = t["candidate"];
        if (c["params"]["layers"] == 7) { // the learner refuses it: scored worst, the search goes on
            CHECK(t["score"] == -1);
            CHECK(t["outcome"].get<std::string>().find("layers must lie in [1, 4]") != std::string::npos);
            continue;
        }
        REQUIRE(t["score"].get<double>() > 0);
        CHECK(t["detail"]["auc"].get<double>() > 0.5); // trained, on questions it never saw: better than chance
        CHECK(t["detail"]["latency_us"].get<double>() > 0);
        CHECK(t["split"].get<std::string>().find("validation") != std::string::npos);
        if (c["phase"] == "pbt") {
            member_ids.push_back(c["id"].get<uint64_t>());
            CHECK_MESSAGE(!t["detail"].contains("starts"), "a member continues one run");
        } else if (!t["outcome"].get<std::string>().starts_with("repeat")) {
            // Trained from two random starts (the encoder's seed, then the next), scored by their mean.
            const auto &starts = t["detail"]["starts"];
            REQUIRE(starts.size() == 2);
            CHECK(starts[0]["seed"] == 1);
            CHECK(starts[1]["seed"] == 2);
            CHECK(starts[1]["auc"].get<double>() > 0.5);
            CHECK(t["detail"]["auc"].get<double>() == doctest::Approx((starts[0]["auc"].get<double>() + starts[1]["auc"].get<double>()) / 2));
        }
    }
    REQUIRE(member_ids.size() == 4); // two members, two generations
    const auto &second = out["trials"][5]["candidate"];
    CHECK_MESSAGE(second["generation"] == 1, second.dump());
    CHECK((second["continue"] == member_ids[0] || second["continue"] == member_ids[1]));
    // Only the checkpoints the search still needs are kept: the last generation's parents and members, the best.
    std::set<std::string> kept;
    for (const auto &f : std::filesystem::directory_iterator(lab.dir.path() / "data" / "searches" / "nas")) kept.insert(f.path().filename().string());
    std::set<std::string> allowed;
    for (const auto &id : out["trials"][6]["candidate"]["keep"]) allowed.insert(std::to_string(id.get<uint64_t>()) + ".ckpt");
    CHECK(!kept.empty());
    for (const auto &k : kept) CHECK_MESSAGE(allowed.count(k), k);
    const auto &held = out["held_out"];
    CHECK(held["test_pairs"].get<int>() > 0);
    for (const char *who : {"best", "defaults"}) {
        CAPTURE(who);
        CHECK(held[who]["auc"].get<double>() > 0.5);
        CHECK(held[who]["latency_us"].get<double>() > 0);
    }
    const auto &best = out["best"]["candidate"];
    const int trained_steps = best["phase"] == "architecture" ? 20 : 10 * (best.value("generation", 0) + 1);
    CHECK_MESSAGE(held["steps"] == trained_steps, "the defaults train as long as the winner's whole lineage");

    // Resumed with a larger budget: training is over, so asks repeat the best, scored from its record.
    auto resumed = lab.run({"optimize", "run", "nas", "--measure", "encoder", "--pairs", pairs.string(), "--trials", "8", "--target-error", "0.2", "--json"});
    REQUIRE_MESSAGE(resumed.exit_code == 0, resumed.out << resumed.err);
    nlohmann::json again = parse(resumed);
    CHECK(again["resumed_from"] == 7);
    CHECK(again["trials"][7]["outcome"].get<std::string>().find("repeat of #") == 0);
    auto missing = lab.run({"optimize", "run", "nas", "--search", "n2", "--measure", "encoder"});
    CHECK(missing.exit_code != 0);
    CHECK(missing.err.find("--measure encoder needs --pairs") != std::string::npos);
}
