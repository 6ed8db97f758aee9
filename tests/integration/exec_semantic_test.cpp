// `aicache exec` answering paraphrased questions: through a running host's matcher (the real
// encoder and threshold learners), and on its own with --encoder when no host runs. The "AI tool"
// is a shell script that gives one answer per topic, as a real model at temperature 0 would.
#include "paraphrase_pairs.hpp"
#include "server/control_socket.hpp"
#include "test_support.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <fstream>

using namespace aicache;

namespace {

// Answers "the one answer about sorting" to any question that mentions sorting, else echoes it.
const std::string kTool = R"(case "$1" in *sort*) echo "use the sorted function with a key argument";; *) echo "answer about: $1";; esac)";

std::vector<std::string> exec_args(const std::filesystem::path &data, const std::string &question, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"exec", "--data", data.string(), "--context", "none", "--explain"};
    args.insert(args.end(), extra.begin(), extra.end());
    args.insert(args.end(), {"--", "/bin/sh", "-c", kTool, "tool", question});
    return args;
}

const std::vector<std::string> kSemantic = {"--semantic-score", "cosine", "--threshold-config", R"({"delta": 0.2, "explore_rate": 0})"};

// A host with the encoder and threshold learners on `data`, once its control socket answers.
std::unique_ptr<test::Background> start_semantic_host(const test::TempDir &dir, const std::filesystem::path &data) {
    std::vector<std::string> serve = {test::aicache_exe().string(), "serve", "--data", data.string(), "--listen", "127.0.0.1:0", "--no-watch",
                                      "--encoder", "encoder"};
    serve.insert(serve.end(), kSemantic.begin(), kSemantic.end());
    auto host = std::make_unique<test::Background>(serve, dir.path() / "serve.log");
    if (!test::eventually([&] { return server::control_request(data / "control.sock", {{"op", "ping"}}).has_value(); }, std::chrono::seconds(120)))
        return nullptr;
    return host;
}

} // namespace

TEST_CASE("exec answers a paraphrased question through a running host's matcher, and never across contexts") {
    test::TempDir dir;
    auto data = dir.path() / "data";
    auto host = start_semantic_host(dir, data);
    REQUIRE(host);

    sandbox::Result first = test::run_aicache(exec_args(data, "how do I sort a list of numbers in python"));
    INFO(first.out << first.err);
    REQUIRE(first.outcome == sandbox::Outcome::ok);
    CHECK(first.err.find("aicache: miss") != std::string::npos);
    // Unrelated questions meet the cached one as a neighbour, are explored, and their different
    // outputs teach the threshold learner what a wrong match looks like.
    for (const char *q : {"how do I open a file in rust", "what is the capital of france", "how tall is mount everest",
                          "which databases support json columns", "how do I center a div with css", "what does a mutex protect"}) {
        sandbox::Result r = test::run_aicache(exec_args(data, q));
        INFO(q << "\n" << r.out << r.err);
        CHECK(r.out == std::string("answer about: ") + q + "\n");
    }
    sandbox::Result paraphrase = test::run_aicache(exec_args(data, "how do I sort a list of numbers in python?"));
    INFO(paraphrase.out << paraphrase.err);
    CHECK(paraphrase.err.find("semantic-hit of") != std::string::npos);
    CHECK(paraphrase.out == "use the sorted function with a key argument\n");

    // The same question with another model selected is another context: never a paraphrase hit.
    ::setenv("OPENAI_MODEL", "another-model", 1);
    sandbox::Result other = test::run_aicache(exec_args(data, "how do I sort a list of numbers in python?"));
    ::unsetenv("OPENAI_MODEL");
    INFO(other.out << other.err);
    CHECK(other.err.find("aicache: miss") != std::string::npos); // looked up, and nothing in its scope
    CHECK(other.err.find("semantic-hit") == std::string::npos);
    CHECK(other.err.find("candidate") == std::string::npos);
}

TEST_CASE("exec with --encoder and no host explores a paraphrase, judges it by the fresh output, and keeps the labelled pair") {
    test::TempDir dir;
    auto data = dir.path() / "data";
    // The relation head scores here (the default): the stored embeddings go through `relate`.
    const std::vector<std::string> local = {"--encoder", "encoder", "--threshold-config", R"({"delta": 0.2, "explore_rate": 0})"};
    sandbox::Result first = test::run_aicache(exec_args(data, "how can I sort a list in python", local), std::chrono::seconds(240));
    INFO(first.out << first.err);
    REQUIRE(first.outcome == sandbox::Outcome::ok);
    sandbox::Result second = test::run_aicache(exec_args(data, "what is the way to sort a python list", local), std::chrono::seconds(240));
    INFO(second.out << second.err);
    REQUIRE(second.outcome == sandbox::Outcome::ok);
    // A cold entry is explored: the tool runs, and its output agrees with the cached one.
    CHECK(second.err.find("paraphrase candidate") != std::string::npos);
    CHECK(second.err.find("agrees with") != std::string::npos);
    std::ifstream pairs(data / "learned-pairs.jsonl");
    std::string line;
    REQUIRE(std::getline(pairs, line));
    nlohmann::json pair = nlohmann::json::parse(line);
    CHECK(pair["a"] == "how can I sort a list in python");
    CHECK(pair["b"] == "what is the way to sort a python list");
    CHECK(pair["label"] == 1);

    // A newly trained checkpoint becomes active: the next run loads it, embeds the questions cached
    // under the old model again, and still finds the cached question as a candidate.
    auto generated = test::write_paraphrase_pairs(dir.path() / "pairs.jsonl");
    sandbox::Result trained = test::run_aicache({"learner", "train", "encoder", "--pairs", generated.string(), "--data", data.string(),
                                                 "--budget-seconds", "2", "--activate", "always", "--validation-share", "0.2", "--test-share", "0.2"},
                                                std::chrono::seconds(240));
    INFO(trained.out << trained.err);
    REQUIRE(trained.outcome == sandbox::Outcome::ok);
    sandbox::Result third = test::run_aicache(exec_args(data, "python: how do I sort a list", local), std::chrono::seconds(240));
    INFO(third.out << third.err);
    REQUIRE(third.outcome == sandbox::Outcome::ok);
    // One of the questions cached under the old model, found under the new one.
    CHECK((third.err.find("(\"how can I sort a list in python\"") != std::string::npos ||
           third.err.find("(\"what is the way to sort a python list\"") != std::string::npos));

    sandbox::Result bad = test::run_aicache(exec_args(data, "x y", {"--question-from", "9"}));
    CHECK(bad.exit_code == 2);
    CHECK(bad.err.find("--question-from") != std::string::npos);
}

TEST_CASE("a running host serves a newly trained or rolled back checkpoint at once, with the cached questions embedded again") {
    test::TempDir dir;
    auto data = dir.path() / "data";
    auto host = start_semantic_host(dir, data);
    REQUIRE(host);
    REQUIRE(test::run_aicache(exec_args(data, "how can I sort a list in python")).outcome == sandbox::Outcome::ok);

    auto generated = test::write_paraphrase_pairs(dir.path() / "pairs.jsonl");
    const std::vector<std::string> train = {"learner", "train", "encoder", "--pairs", generated.string(), "--data", data.string(),
                                            "--budget-seconds", "2", "--activate", "always", "--validation-share", "0.2", "--test-share", "0.2"};
    for (int round = 0; round < 2; ++round) {
        sandbox::Result trained = test::run_aicache(train, std::chrono::seconds(240));
        INFO(trained.out << trained.err);
        REQUIRE(trained.outcome == sandbox::Outcome::ok);
        CHECK(trained.out.find("the running host serves it now (1 cached questions embedded again") != std::string::npos);
    }
    // Under the new model the cached question is still the candidate for its paraphrase.
    sandbox::Result asked = test::run_aicache(exec_args(data, "what is the way to sort a python list"));
    INFO(asked.out << asked.err);
    CHECK(asked.err.find("(\"how can I sort a list in python\"") != std::string::npos);
    CHECK(asked.out == "use the sorted function with a key argument\n");

    sandbox::Result rolled = test::run_aicache({"learner", "rollback", "encoder", "--to", "1", "--data", data.string()});
    INFO(rolled.out << rolled.err);
    CHECK(rolled.outcome == sandbox::Outcome::ok);
    // The paraphrase's own answer, and (its exploration agreed) the paraphrase as a verified alias
    // of the first question: both are embedded again with the first.
    CHECK(rolled.out.find("the running host serves it now (3 cached questions embedded again") != std::string::npos);
}
