// `aicache learner train | list | rollback` through the real binary, the real encoder plugin
// (LibTorch) and a real SQLite knowledge repository, on generated paraphrase pairs: checkpoints
// are measured, recorded, chained, activated only when asked or not worse, rolled back, refused
// when damaged, and every change is in the audit log.
#include "test_support.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <fstream>

using namespace aicache;

namespace {

// Forty tasks asked four ways. Tasks come in twos: paraphrases of a task are positives, the same
// wording of its partner task a negative, so each two-task group is one held-out component.
std::filesystem::path write_pairs(const std::filesystem::path &file) {
    const char *tasks[] = {"reset my router password", "bake sourdough bread", "change a flat bike tyre", "renew my passport online",
                           "learn to play the guitar", "grow tomatoes on a balcony", "clean a cast iron pan", "train a puppy to sit",
                           "write a cover letter", "fix a leaking kitchen tap", "install python on windows", "make cold brew coffee",
                           "save money on groceries", "remove red wine stains", "start running as a beginner", "paint a bedroom wall",
                           "back up my phone photos", "improve my credit score", "cook rice without a cooker", "tie a windsor knot",
                           "speed up a slow laptop", "plan a trip to japan", "meditate before sleeping", "sharpen a kitchen knife",
                           "negotiate a higher salary", "keep basil plants alive", "replace a car battery", "learn spanish vocabulary fast",
                           "prepare for a job interview", "set up a home aquarium", "stop procrastinating at work", "make homemade pasta",
                           "choose a good mattress", "hang a heavy mirror", "protect my email from hackers", "brew beer at home",
                           "calm a crying baby", "file my taxes myself", "unclog a bathroom drain", "build a simple website"};
    const char *ways[] = {"how do I {}", "what is the best way to {}", "can you explain how to {}", "tips to {} quickly"};
    auto say = [](const char *way, const char *task) {
        std::string s = way;
        return s.replace(s.find("{}"), 2, task);
    };
    std::ofstream out(file);
    auto line = [&](const std::string &a, const std::string &b, int label) {
        out << nlohmann::json{{"a", a}, {"b", b}, {"label", label}}.dump() << "\n";
    };
    for (size_t t = 0; t + 1 < std::size(tasks); t += 2)
        for (size_t w = 0; w < std::size(ways); ++w)
            for (size_t v = w + 1; v < std::size(ways); ++v) {
                line(say(ways[w], tasks[t]), say(ways[v], tasks[t]), 1);
                line(say(ways[w], tasks[t + 1]), say(ways[v], tasks[t + 1]), 1);
                line(say(ways[w], tasks[t]), say(ways[w], tasks[t + 1]), 0);
                line(say(ways[v], tasks[t]), say(ways[w], tasks[t + 1]), 0);
            }
    return file;
}

nlohmann::json run_json(const std::vector<std::string> &args) {
    sandbox::Result run = test::run_aicache(args, std::chrono::seconds(240));
    INFO(run.out << run.err);
    REQUIRE(run.outcome == sandbox::Outcome::ok);
    return nlohmann::json::parse(run.out);
}

} // namespace

TEST_CASE("learner train records measured checkpoints; rollback activates an older one; damage and bad input are refused") {
    test::TempDir dir;
    const std::string data = (dir.path() / "data").string();
    const std::string pairs = write_pairs(dir.path() / "pairs.jsonl").string();
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
