// The search driver with real optimizer plugins (evolve, and the scripted fixture) and a
// deterministic evaluator: every trial recorded with the optimizer's state, a stopped search
// resuming exactly where an uninterrupted one would be, repeats scored from the record, and
// resumes refused when the scores would not compare.
#include "cli/search_report.hpp"
#include "learning/search.hpp"
#include "patches/generator.hpp"
#include "test_support.hpp"

#include <doctest/doctest.h>

#include <set>

using namespace aicache;

namespace {

std::shared_ptr<const loader::PluginLibrary> optimizer(const std::filesystem::path &file) {
    auto library = loader::PluginLibrary::load_file(file);
    REQUIRE_MESSAGE(library, library.error().message());
    return *library;
}

learning::SearchOptions search_options(std::string name, uint64_t trials, std::string space) {
    learning::SearchOptions options;
    options.name = std::move(name);
    options.trials = trials;
    options.space = std::move(space);
    return options;
}

// A real measurement of something: shorter expressions score higher.
learning::Evaluator by_length(int &calls) {
    return [&calls](const nlohmann::json &candidate) {
        ++calls;
        std::string text = candidate.dump();
        return learning::CandidateScore{-double(text.size()), "measured", std::nullopt, "lengths", {}};
    };
}

std::vector<std::string> candidates_of(const learning::SearchSummary &summary) {
    std::vector<std::string> out;
    for (const auto &t : summary.trials) out.push_back(t.candidate);
    return out;
}

} // namespace

TEST_CASE("a search records every trial and, stopped and resumed, asks what an uninterrupted one asks") {
    test::TempDir dir;
    auto evolve = optimizer(test::plugin_path("evolve"));
    int calls = 0;

    auto whole_db = store::Database::open(dir.path() / "whole.db");
    REQUIRE(whole_db);
    learning::SearchOptions options = search_options("s", 30, R"({"seed": 7, "population": 8})");
    auto whole = learning::run_search(**whole_db, evolve, options, by_length(calls));
    REQUIRE_MESSAGE(whole, whole.error().message());
    REQUIRE(whole->trials.size() == 30);
    CHECK(whole->resumed_from == 0);
    for (size_t i = 0; i < whole->trials.size(); ++i) CHECK(whole->trials[i].number == int64_t(i + 1));
    REQUIRE(whole->best);
    for (const auto &t : whole->trials) CHECK(t.score <= whole->best->score);
    std::set<std::string> distinct;
    for (const auto &t : whole->trials) distinct.insert(learning::candidate_key(nlohmann::json::parse(t.candidate)));
    CHECK(distinct.size() == 30); // evolve does not propose an expression twice while it can find a new one

    auto split_db = store::Database::open(dir.path() / "split.db");
    REQUIRE(split_db);
    options.trials = 12;
    auto first = learning::run_search(**split_db, evolve, options, by_length(calls));
    REQUIRE(first);
    options.trials = 30;
    options.space.reset(); // resuming takes the recorded space
    auto second = learning::run_search(**split_db, evolve, options, by_length(calls));
    REQUIRE_MESSAGE(second, second.error().message());
    CHECK(second->resumed_from == 12);
    CHECK(candidates_of(*second) == candidates_of(*whole));
    CHECK(second->best->number == whole->best->number);

    SUBCASE("a resumed search must measure the same way and be run by the same optimizer") {
        options.evaluation = {{"trace", "another"}};
        auto other = learning::run_search(**split_db, evolve, options, by_length(calls));
        REQUIRE_FALSE(other);
        CHECK(other.error().message().find("would not compare") != std::string::npos);
        options.evaluation = nlohmann::json::object();
        auto scripted = learning::run_search(**split_db, optimizer(test::fixture_path("scripted_optimizer")), options, by_length(calls));
        REQUIRE_FALSE(scripted);
        CHECK(scripted.error().message().find("was run by optimizer evolve") != std::string::npos);
    }
}

TEST_CASE("a candidate the search measured before is scored from its record, not measured again") {
    test::TempDir dir;
    auto db = store::Database::open(dir.path() / "a.db");
    REQUIRE(db);
    // The scripted optimizer cycles through these.
    learning::SearchOptions options = search_options("repeats", 5, R"({"params": [{"a": 1}, {"a": 2}]})");
    int calls = 0;
    auto summary = learning::run_search(**db, optimizer(test::fixture_path("scripted_optimizer")), options, by_length(calls));
    REQUIRE_MESSAGE(summary, summary.error().message());
    CHECK(calls == 2);
    REQUIRE(summary->trials.size() == 5);
    CHECK(summary->trials[2].outcome == "repeat of #1");
    CHECK(summary->trials[3].outcome == "repeat of #2");
    CHECK(summary->trials[2].score == summary->trials[0].score);
}

TEST_CASE("a template's expression parameter takes expressions over its identifiers and nothing else") {
    const std::vector<std::string> ids = {"recency", "frequency", "pdiv"};
    CHECK(patches::expression_problem("pdiv(frequency, (recency + 1.5e-3)) * 2", ids).empty());
    CHECK(patches::expression_problem("(0-recency)", ids).empty());
    // What could close the function the expression is pasted into, or reach anything else:
    CHECK(patches::expression_problem("recency); } int evil() { return 1", ids).find("unbalanced ')'") != std::string::npos);
    CHECK(patches::expression_problem("recency; return 0", ids).find("character ';'") != std::string::npos);
    CHECK(patches::expression_problem("system(0)", ids).find("\"system\"") != std::string::npos);
    CHECK(patches::expression_problem("recency / frequency", ids).find("'/'") != std::string::npos);
    CHECK(patches::expression_problem("((recency)", ids) == "unbalanced '('");
    CHECK(patches::expression_problem("recency)", ids).find("unbalanced ')'") != std::string::npos);
    CHECK(patches::expression_problem("1x", ids).find("malformed number") != std::string::npos);
    CHECK(patches::expression_problem("", ids) == "empty expression");

    auto loaded = patches::PatchTemplate::load(test::source_dir() / "host" / "patches" / "templates" / "priority.cpp.in");
    REQUIRE(loaded);
    auto text = loaded->instantiate({{"priority", "pdiv(frequency, age)"}, {"sample", "16"}});
    REQUIRE(text);
    CHECK(text->find("double p = (pdiv(frequency, age));") != std::string::npos);
    auto refused = loaded->instantiate({{"priority", "recency; return 0"}});
    REQUIRE_FALSE(refused);
    CHECK(refused.error().message().find("priority: character ';'") != std::string::npos);
}

TEST_CASE("two runs of one search at a time: the one that finds its trial recorded meanwhile stops with a clear error, and nothing is lost") {
    test::TempDir dir;
    auto evolve = optimizer(test::plugin_path("evolve"));
    auto db = store::Database::open(dir.path() / "s.db");
    REQUIRE(db);
    learning::SearchOptions options = search_options("twice", 3, R"({"seed": 7, "population": 8})");
    int calls = 0, inner_calls = 0;
    std::optional<Expected<learning::SearchSummary>> inner;
    learning::Evaluator measure = by_length(calls);
    // While the first run measures its second candidate, another run of the same search records it.
    learning::Evaluator meanwhile = [&](const nlohmann::json &candidate) {
        if (calls == 1) {
            learning::SearchOptions other = options;
            other.trials = 2;
            inner = learning::run_search(**db, evolve, other, by_length(inner_calls));
        }
        return measure(candidate);
    };
    auto outer = learning::run_search(**db, evolve, options, meanwhile);
    REQUIRE(inner);
    REQUIRE_MESSAGE(*inner, inner->error().message());
    CHECK((*inner)->trials.size() == 2);
    REQUIRE_FALSE(outer);
    CHECK(outer.error().code() == Errc::busy);
    CHECK(outer.error().message().find("another run of the same search") != std::string::npos);
    store::SearchRecords records(**db);
    auto found = records.find("twice");
    REQUIRE(found);
    REQUIRE(found->has_value());
    auto trials = records.trials((*found)->id);
    REQUIRE(trials);
    CHECK(trials->size() == 2); // the first run's trial 1 and the other run's trial 2
}

TEST_CASE("evolve searches template parameters beside the expression: seeds at the first values, children take others, resumes exactly") {
    test::TempDir dir;
    auto evolve = optimizer(test::plugin_path("evolve"));
    int calls = 0;
    learning::SearchOptions options = search_options("choices", 40, R"({"seed": 3, "population": 6, "template": "history", "fixed": {"sample": "64"},
                        "choices": {"window": ["0.1", "0", "0.25"], "climb": [0, 1]}})");
    // Scores that depend on the choices, so the search has a reason to move them.
    auto by_choice = [&calls](const nlohmann::json &candidate) {
        ++calls;
        const auto &p = candidate["params"];
        const double score = (p["window"] == "0.25" ? 2.0 : 0.0) + (p["climb"] == "1" ? 1.0 : 0.0) - 0.001 * double(p["priority"].dump().size());
        return learning::CandidateScore{score, "measured", std::nullopt, "choices", {}};
    };
    auto whole_db = store::Database::open(dir.path() / "whole.db");
    REQUIRE(whole_db);
    auto whole = learning::run_search(**whole_db, evolve, options, by_choice);
    REQUIRE_MESSAGE(whole, whole.error().message());
    REQUIRE(whole->trials.size() == 40);
    std::set<std::string> windows;
    for (const auto &t : whole->trials) {
        const auto params = nlohmann::json::parse(t.candidate)["params"];
        CHECK(params["sample"] == "64");
        windows.insert(params["window"].get<std::string>());
        CHECK((params["climb"] == "0" || params["climb"] == "1"));
    }
    const auto first = nlohmann::json::parse(whole->trials[0].candidate)["params"];
    CHECK(first["window"] == "0.1"); // the seeds start at the first value of each choice
    CHECK(first["climb"] == "0");
    CHECK(windows.size() == 3);
    CHECK(whole->best->score > 2.5); // it found the best window and climb

    auto split_db = store::Database::open(dir.path() / "split.db");
    REQUIRE(split_db);
    options.trials = 11;
    REQUIRE(learning::run_search(**split_db, evolve, options, by_choice));
    options.trials = 40;
    options.space.reset();
    auto resumed = learning::run_search(**split_db, evolve, options, by_choice);
    REQUIRE_MESSAGE(resumed, resumed.error().message());
    CHECK(candidates_of(*resumed) == candidates_of(*whole));
}

TEST_CASE("evolve seeds the mean-gap forms of inter-reference recency when mean_gap is a feature") {
    test::TempDir dir;
    auto evolve = optimizer(test::plugin_path("evolve"));
    auto seeds_of = [&](const std::string &features) {
        learning::SearchOptions options =
            search_options("seeds", 12, R"({"seed": 1, "population": 12, "template": "history", "features": )" + features + "}");
        auto db = store::Database::open(dir.path() / ("seeds" + std::to_string(features.size()) + ".db"));
        REQUIRE(db);
        auto ran = learning::run_search(**db, evolve, options, [](const nlohmann::json &) {
            return learning::CandidateScore{0, "measured", std::nullopt, "seeds", {}};
        });
        REQUIRE_MESSAGE(ran, ran.error().message());
        std::set<std::string> priorities;
        for (const auto &t : ran->trials) priorities.insert(nlohmann::json::parse(t.candidate)["params"]["priority"].get<std::string>());
        return priorities;
    };
    const auto with_mean = seeds_of(R"(["recency", "frequency", "gap", "mean_gap"])");
    CHECK(with_mean.count("pdiv(frequency, pmax(recency, mean_gap))") == 1);
    CHECK(with_mean.count("(0 - pmax(recency, mean_gap))") == 1);
    CHECK(with_mean.count("pdiv((frequency * frequency), pmax(recency, mean_gap))") == 1);
    CHECK(with_mean.count("pdiv(frequency, pmax(recency, gap))") == 1);
    const auto without = seeds_of(R"(["recency", "frequency", "gap"])");
    for (const auto &priority : without) CHECK(priority.find("mean_gap") == std::string::npos);
}

TEST_CASE("of patch candidates equally behind at their worst place, the best is the one furthest ahead elsewhere") {
    test::TempDir dir;
    auto db = store::Database::open(dir.path() / "a.db");
    REQUIRE(db);
    learning::SearchOptions options = search_options("ties", 5, R"({"params": [{"a": 1}, {"a": 2}, {"a": 3}]})");
    options.tie_break = cli::mean_gain; // as optimize run and the demo rank patch searches
    // Worst-first scores: each candidate is 0.5 points behind at one size, and ahead by a at another.
    auto worst_first = [](const nlohmann::json &candidate) {
        const double ahead = candidate["params"]["a"].get<double>() == 2 ? 1.0 : candidate["params"]["a"].get<double>() == 3 ? 0.5 : 0.0;
        nlohmann::json per_size = {{{"size", "1%"}, {"gain_points", -0.5}}, {{"size", "10%"}, {"gain_points", ahead}}};
        return learning::CandidateScore{-0.5, "evaluated", std::nullopt, "trace (worst first)", {{"per_size", per_size}}};
    };
    auto summary = learning::run_search(**db, optimizer(test::fixture_path("scripted_optimizer")), options, worst_first);
    REQUIRE_MESSAGE(summary, summary.error().message());
    REQUIRE(summary->trials.size() == 5);
    CHECK(summary->trials[4].outcome == "repeat of #2"); // a repeat has no cells of its own and does not displace its first
    REQUIRE(summary->best);
    CHECK(summary->best->number == 2);
    CHECK(cli::mean_gain(summary->trials[1]) == doctest::Approx(0.25));
    CHECK(learning::ranks_above(summary->trials[1], summary->trials[2], cli::mean_gain));
    CHECK_FALSE(learning::ranks_above(summary->trials[4], summary->trials[1], cli::mean_gain));
    // Without a tie-break (a search whose trials carry no such figure) the earlier trial stays the best.
    CHECK_FALSE(learning::ranks_above(summary->trials[1], summary->trials[0], {}));
}
