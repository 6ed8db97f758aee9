// Optimizers submitting patches through the host: `aicache optimize run` with the real binary, a
// real data directory, the sandboxed jit worker and the trial child. A hostile candidate is
// stopped by the pipeline and told the worst score while the search goes on; evolve's candidates
// are rendered from the host's template, trialled, recorded, resumed after a stop, and the best
// is approved by rule; the audit log names the optimizer and verifies.
#include "core/files.hpp"
#include "test_support.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

using namespace aicache;

namespace {

struct Lab {
    test::TempDir dir;
    std::string data() const { return (dir.path() / "data").string(); }
    sandbox::Result run(std::vector<std::string> args) const {
        args.insert(args.begin() + 1, "--data=" + data());
        return test::run_aicache(args, std::chrono::seconds(240));
    }
    std::string fixture(const std::string &name) const { return (test::source_dir() / "tests" / "fixtures" / "patches" / name).string(); }
};

nlohmann::json parse(const sandbox::Result &r) {
    nlohmann::json out = nlohmann::json::parse(r.out, nullptr, false);
    REQUIRE_MESSAGE(!out.is_discarded(), r.out << r.err);
    return out;
}

} // namespace

TEST_CASE("an optimizer's source candidates go through the pipeline: the hostile one is stopped and scored worst") {
    Lab lab;
    auto good = read_file(lab.fixture("good_fifo.cpp")).value();
    auto hostile = read_file(lab.fixture("call_system.cpp")).value();
    nlohmann::json space = {{"sources", {hostile, good}}};
    REQUIRE(write_file_atomic(lab.dir.path() / "space.json", space.dump()));
    sandbox::Result ran = lab.run({"optimize", "run", test::fixture_path("scripted_optimizer").string(), "--search", "scripted", "--space",
                                   "@" + (lab.dir.path() / "space.json").string(), "--trials", "3", "--target", "fifo", "--size", "1%",
                                   "--json"});
    INFO(ran.out << ran.err);
    REQUIRE(ran.outcome == sandbox::Outcome::ok);
    nlohmann::json out = parse(ran);
    REQUIRE(out["trials"].size() == 3);
    CHECK(out["trials"][0]["outcome"].get<std::string>().find("rejected: validate") == 0);
    CHECK(out["trials"][0]["score"] == -100.0);
    CHECK(out["trials"][0]["patch_id"] == 1);
    CHECK(out["trials"][1]["outcome"] == "evaluated");
    CHECK(out["trials"][1]["score"] == 0.0); // fifo as a patch, against fifo: the same hits
    CHECK(out["trials"][1]["split"].get<std::string>().find("@ 1%") != std::string::npos);
    CHECK(out["trials"][2]["outcome"] == "repeat of #1"); // the script comes round again; not compiled twice
    CHECK(out["best"]["number"] == 2);

    sandbox::Result shown = lab.run({"patch", "show", "1"});
    CHECK(shown.out.find("[call] uses `system`") != std::string::npos);
    CHECK(shown.out.find("optimizer:scripted 1.0.0 (search scripted") != std::string::npos);
    sandbox::Result verified = lab.run({"audit", "verify"});
    CHECK(verified.exit_code == 0);
}

TEST_CASE("evolve searches priority functions through the pipeline, resumes after a stop, and its best is approved by rule") {
    Lab lab;
    const std::vector<std::string> common = {"--target", "lru", "--size", "2%", "--auto-approve-margin", "-100"};
    auto run = [&](const std::string &trials) {
        std::vector<std::string> args = {"optimize", "run", "evolve", "--trials", trials, "--json"};
        args.insert(args.end(), common.begin(), common.end());
        return lab.run(args);
    };
    sandbox::Result first = run("3");
    INFO(first.out << first.err);
    REQUIRE(first.outcome == sandbox::Outcome::ok);
    nlohmann::json one = parse(first);
    REQUIRE(one["trials"].size() == 3);
    // The first candidate is LRU written as a priority (0 - recency) with 32 samples: close to LRU.
    CHECK(one["trials"][0]["candidate"]["params"]["priority"] == "(0 - recency)");
    CHECK(one["trials"][0]["outcome"] == "evaluated");
    CHECK(one["trials"][0]["score"].get<double>() > -3.0);
    CHECK(one["trials"][0]["score"].get<double>() < 1.0);

    sandbox::Result second = run("5");
    INFO(second.out << second.err);
    REQUIRE(second.outcome == sandbox::Outcome::ok);
    nlohmann::json two = parse(second);
    CHECK(two["resumed_from"] == 3);
    REQUIRE(two["trials"].size() == 5);
    CHECK(two["trials"][0]["candidate"] == one["trials"][0]["candidate"]);
    CHECK(two["trials"][4]["number"] == 5);
    CHECK(two["best_patch_state"] == "approved");

    sandbox::Result listed = lab.run({"optimize", "list"});
    CHECK(listed.out.find("evolve 1.0.0") != std::string::npos);
    sandbox::Result log = lab.run({"audit", "log"});
    CHECK(log.out.find("optimizer:evolve 1.0.0") != std::string::npos);
    CHECK(lab.run({"audit", "verify"}).exit_code == 0);
    // A different space under the same name would make the recorded scores meaningless.
    sandbox::Result clash = lab.run({"optimize", "run", "evolve", "--trials", "6", "--space", "{\"seed\": 9}"});
    CHECK(clash.exit_code == 2);
    CHECK(clash.err.find("searches another space") != std::string::npos);
}
