// `aicache learner train | list | rollback` through the real binary, the real encoder plugin
// (LibTorch) and a real SQLite knowledge repository, on generated paraphrase pairs: checkpoints
// are measured, recorded, chained, activated only when asked or not worse, rolled back, refused
// when damaged, and every change is in the audit log.
#include "paraphrase_pairs.hpp"
#include "test_support.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <fstream>

using namespace aicache;

namespace {

nlohmann::json run_json(const std::vector<std::string> &args) {
    sandbox::Result run = test::run_aicache(args, std::chrono::seconds(240));
    INFO(run.out << run.err);
    REQUIRE(run.outcome == sandbox::Outcome::ok);
    return nlohmann::json::parse(run.out);
}

} // namespace

TEST_CASE("learner train records measured checkpoints, rollback activates an older one, and damage and bad input are refused") {
    test::TempDir dir;
    const std::string data = (dir.path() / "data").string();
    const std::string pairs = test::write_paraphrase_pairs(dir.path() / "pairs.jsonl").string();
    // Small held-out sets: measure at a 20% false-hit target, at the rate itself.
    const std::vector<std::string> train = {"learner", "train", "encoder", "--pairs", pairs, "--data", data, "--budget-seconds", "3",
                                            "--target-error", "0.2", "--confidence-z", "0", "--validation-share", "0.2", "--test-share", "0.2", "--json"};

    sandbox::Result empty = test::run_aicache({"learner", "list", "--data", data});
    CHECK(empty.out.find("no learner checkpoints yet") != std::string::npos);

    nlohmann::json first = run_json(train);
    CHECK(first["checkpoint"] == 1);
    CHECK(first["parent"].is_null()); // nothing active yet: from scratch
    CHECK(first["trained_on"]["test_pairs"].get<int>() > 0);
    CHECK(first["trained_on"]["train_pairs"].get<int>() > first["trained_on"]["test_pairs"].get<int>());
    const double untrained = first["before"]["held_out"]["hit_rate"].get<double>();
    const double trained = first["after"]["held_out"]["hit_rate"].get<double>();
    CHECK(trained > untrained); // the held-out questions' paraphrases are found after training
    CHECK(first["active"] == true);

    nlohmann::json second = run_json(train);
    CHECK(second["parent"] == 1); // continued from the active checkpoint
    CHECK(second["before"]["held_out"]["hit_rate"].get<double>() == doctest::Approx(trained)); // measured the incumbent

    std::vector<std::string> never = train;
    never.insert(never.end(), {"--activate", "never"});
    nlohmann::json third = run_json(never);
    CHECK(third["active"] == false);

    nlohmann::json listed = run_json({"learner", "list", "encoder", "--json", "--data", data});
    REQUIRE(listed.size() == 3);
    CHECK(listed[2]["id"] == 1);
    int active_id = 0;
    for (const auto &c : listed)
        if (c["active"].get<bool>()) active_id = c["id"].get<int>();
    CHECK(active_id == (second["active"].get<bool>() ? 2 : 1));

    sandbox::Result rolled = test::run_aicache({"learner", "rollback", "encoder", "--to", "1", "--data", data});
    INFO(rolled.out << rolled.err);
    CHECK(rolled.outcome == sandbox::Outcome::ok);
    listed = run_json({"learner", "list", "--json", "--data", data});
    for (const auto &c : listed) CHECK(c["active"].get<bool>() == (c["id"] == 1));

    // A checkpoint whose file changed on disk is refused before it becomes what serve loads.
    const std::string sha = listed[1]["sha256"].get<std::string>(); // #2
    { std::ofstream(dir.path() / "data" / "checkpoints" / (sha + ".ckpt"), std::ios::binary | std::ios::app) << "x"; }
    sandbox::Result damaged = test::run_aicache({"learner", "rollback", "encoder", "--to", "2", "--data", data});
    CHECK(damaged.exit_code != 0);
    CHECK(damaged.err.find("damaged") != std::string::npos);
    sandbox::Result missing = test::run_aicache({"learner", "rollback", "encoder", "--to", "42", "--data", data});
    CHECK(missing.exit_code != 0);
    CHECK(missing.err.find("no checkpoint #42") != std::string::npos);
    sandbox::Result bad_choice = test::run_aicache({"learner", "train", "encoder", "--pairs", pairs, "--data", data, "--activate", "maybe"});
    CHECK(bad_choice.exit_code == 2);
    CHECK(bad_choice.err.find("--activate") != std::string::npos);

    // Old checkpoints' bytes can go; their records and the active one stay.
    sandbox::Result gc = test::run_aicache({"learner", "gc", "encoder", "--keep", "0", "--data", data});
    INFO(gc.out << gc.err);
    CHECK(gc.out.find("pruned 2 checkpoints") != std::string::npos);
    CHECK(test::run_aicache({"learner", "rollback", "encoder", "--to", "3", "--data", data}).err.find("learner gc") != std::string::npos);
    CHECK(test::run_aicache({"learner", "list", "--data", data}).out.find("(pruned)") != std::string::npos);

    // Every checkpoint and the rollback are in the audit log, whose chain holds.
    nlohmann::json audit = run_json({"audit", "log", "--json", "--data", data});
    int checkpoints = 0, rollbacks = 0;
    for (const auto &e : audit) {
        checkpoints += e["action"] == "learner-checkpoint";
        rollbacks += e["action"] == "learner-rollback";
    }
    CHECK(checkpoints == 3);
    CHECK(rollbacks == 1);
    CHECK(test::run_aicache({"audit", "verify", "--data", data}).exit_code == 0);
}
