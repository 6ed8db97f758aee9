// The measuring side of `aicache eval semantic`: operating points and curves computed by hand,
// thresholds that keep the false-hit rate under the target, a split that never puts one question
// on two sides, the TF-IDF baseline, and pairs files with mistakes in them.
#include "core/files.hpp"
#include "learning/pairs.hpp"
#include "learning/semantic_eval.hpp"
#include "learning/tfidf.hpp"
#include "test_support.hpp"

#include <doctest/doctest.h>

#include <set>

using namespace aicache;
using learning::ScoredPair;

TEST_CASE("hit rate, false-hit rate and precision at a threshold, and the threshold a target allows") {
    // 4 paraphrases, 5 non-paraphrases.
    std::vector<ScoredPair> pairs = {{0.95, 1}, {0.9, 0}, {0.85, 1}, {0.8, 1}, {0.7, 0}, {0.6, 1}, {0.5, 0}, {0.4, 0}, {0.3, 0}};
    learning::OperatingPoint p = learning::operate_at(pairs, 0.8);
    CHECK(p.true_hits == 3);
    CHECK(p.false_hits == 1);
    CHECK(p.hit_rate == doctest::Approx(0.75));
    CHECK(p.false_hit_rate == doctest::Approx(0.2));
    CHECK(p.precision == doctest::Approx(0.75));

    auto curve = learning::hit_curve(pairs);
    REQUIRE(curve.size() == 9);
    CHECK(curve.front().threshold == 0.95);
    CHECK(curve.front().hit_rate == doctest::Approx(0.25));
    CHECK(curve.back().hit_rate == 1.0);
    CHECK(curve.back().false_hit_rate == 1.0);

    // No false hit allowed: only above 0.9. One in five allowed: down to 0.8 (0.7 would be two).
    CHECK(learning::pick_threshold(pairs, 0.0) == 0.95);
    CHECK(learning::pick_threshold(pairs, 0.2) == 0.8);
    CHECK(learning::pick_threshold({{0.9, 0}}, 0.0) == std::numeric_limits<double>::infinity());
    // With five non-paraphrases even none served leaves a 95% upper bound of 35%: no threshold
    // meets 20% with confidence, but one does with 500 of them.
    CHECK(learning::pick_threshold(pairs, 0.2, 1.645) == std::numeric_limits<double>::infinity());
    std::vector<ScoredPair> many;
    for (int i = 0; i < 500; ++i) many.push_back({i < 450 ? 0.1 : 0.6, 0}); // 10% of them at 0.6
    many.push_back({0.9, 1});
    CHECK(learning::pick_threshold(many, 0.2, 1.645) == 0.6);
    CHECK(learning::pick_threshold(many, 0.1, 1.645) == 0.9); // 10% is within 10% only as a point estimate
    CHECK(learning::pick_threshold(many, 0.1) == 0.6);

    // Tied scores hit together: a threshold cannot split them.
    auto tied = learning::hit_curve({{0.5, 1}, {0.5, 0}, {0.2, 1}});
    REQUIRE(tied.size() == 2);
    CHECK(tied[0].true_hits == 1);
    CHECK(tied[0].false_hits == 1);
}

TEST_CASE("the split holds out whole questions: no text is on two sides, and the same seed gives the same split") {
    std::vector<learning::LabelledPair> pairs;
    for (int g = 0; g < 200; ++g) {
        // Each group of three texts is joined by two pairs: one component per group.
        std::string q = "question " + std::to_string(g);
        pairs.push_back({q + " a", q + " b", 1});
        pairs.push_back({q + " a", q + " c", 0});
    }
    auto split = learning::split_by_question(pairs, 0.2, 0.2, 7);
    CHECK(split.train.size() + split.validation.size() + split.test.size() == pairs.size());
    CHECK(split.test.size() > 40);
    CHECK(split.validation.size() > 40);
    auto texts = [](const std::vector<learning::LabelledPair> &side) {
        std::set<std::string> out;
        for (const auto &p : side) out.insert(p.a), out.insert(p.b);
        return out;
    };
    auto train = texts(split.train), validation = texts(split.validation), test = texts(split.test);
    for (const auto &t : test) {
        CHECK(!train.count(t));
        CHECK(!validation.count(t));
    }
    for (const auto &t : validation) CHECK(!train.count(t));
    auto again = learning::split_by_question(pairs, 0.2, 0.2, 7);
    CHECK(again.test.size() == split.test.size());
    CHECK(learning::split_by_question(pairs, 0.2, 0.2, 8).test.size() != split.test.size());
}

TEST_CASE("TF-IDF cosine: identical texts score 1, unrelated 0, a paraphrase more than a different question") {
    learning::TfIdf tfidf;
    tfidf.fit({"how do i sort a list in python", "how do i reverse a string in java", "what is the capital of france",
               "how can i sort a python list", "best way to learn java"});
    CHECK(tfidf.similarity("how do i sort a list in python", "how do i sort a list in python") == doctest::Approx(1.0));
    CHECK(tfidf.similarity("sort list", "zebra why") == 0.0); // not one word or trigram in common
    CHECK(tfidf.similarity("how do i sort a list in python", "how can i sort a python list") >
          tfidf.similarity("how do i sort a list in python", "how do i reverse a string in java"));
    CHECK(tfidf.similarity("", "anything") == 0.0);
}

TEST_CASE("a pairs file with a mistake is refused with its line number") {
    test::TempDir dir;
    auto file = dir.path() / "pairs.jsonl";
    REQUIRE(write_file_atomic(file, "{\"a\": \"x\", \"b\": \"y\", \"label\": 1}\n\n{\"a\": \"x\", \"b\": 3, \"label\": 0}\n"));
    auto read = learning::read_pairs(file);
    REQUIRE_FALSE(read);
    CHECK(read.error().message().find("pairs.jsonl:3: \"a\" and \"b\" must be strings") != std::string::npos);
    REQUIRE(write_file_atomic(file, "{\"a\": \"x\", \"b\": \"y\", \"label\": 2}\n"));
    CHECK(learning::read_pairs(file).error().message().find(":1: \"label\" must be 0 or 1") != std::string::npos);
    REQUIRE(write_file_atomic(file, "{\"a\": \"x\", \"b\": \"y\", \"label\": 1}\n{\"a\": \"p\", \"b\": \"q\", \"label\": 0}\n"));
    auto good = learning::read_pairs(file, 1);
    REQUIRE(good);
    CHECK(good->size() == 1);
    CHECK(learning::read_pairs(dir.path() / "missing.jsonl").error().code() == Errc::not_found);
}
