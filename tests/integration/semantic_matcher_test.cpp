// The semantic matcher with the real encoder and threshold plugins over a real SQLite file: a
// verified paraphrase (taught directly, or by a right outcome) becomes an alias of the entry it
// was answered from, is found as that entry, survives a restart, and leaves with the entry.
#include "cache/semantic_matcher.hpp"
#include "learning/semantic_eval.hpp"
#include "loader/plugin_library.hpp"
#include "test_support.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <fstream>

using namespace aicache;

namespace {

std::shared_ptr<const loader::PluginLibrary> plugin(const std::string &name) {
    auto library = loader::PluginLibrary::load_file(test::plugin_path(name));
    REQUIRE_MESSAGE(library, library.error().message());
    return *library;
}

std::unique_ptr<cache::SemanticMatcher> open_matcher(store::Database &db, const test::TempDir &dir) {
    cache::SemanticMatcherOptions options;
    options.learned_pairs = dir.path() / "learned-pairs.jsonl";
    options.threshold_config = R"({"delta": 0.2, "explore_rate": 0})";
    options.max_aliases = 2;
    auto matcher = cache::SemanticMatcher::open(db, dir.path() / "semantic-index", plugin("encoder"), plugin("threshold"), options);
    REQUIRE_MESSAGE(matcher, matcher.error().message());
    return std::move(*matcher);
}

cache::SemanticCandidate find(cache::SemanticMatcher &matcher, uint64_t scope, const std::string &question) {
    auto found = matcher.find(scope, question);
    REQUIRE_MESSAGE(found, found.error().message());
    REQUIRE(found->has_value());
    return **found;
}

} // namespace

TEST_CASE("a verified paraphrase is found as the entry it paraphrases, survives a restart, and leaves with the entry") {
    test::TempDir dir;
    auto db = store::Database::open(dir.path() / "aicache.db");
    REQUIRE(db);
    const std::string alias = "steps to get my wifi box back to its factory password";
    {
        auto matcher = open_matcher(**db, dir);
        REQUIRE(matcher->remember(1, 100, "ck-router", "how do I reset my router password"));
        REQUIRE(matcher->remember(1, 200, "ck-bread", "how do I bake sourdough bread"));
        REQUIRE(matcher->remember(2, 300, "ck-other-scope", "how do I reset my router password"));

        CHECK(*matcher->teach(1, 100, alias));
        CHECK_FALSE(*matcher->teach(1, 100, alias));                               // already known
        CHECK_FALSE(*matcher->teach(1, 100, "how do I reset my router password")); // the entry's own question
        CHECK_FALSE(*matcher->teach(1, 999, "an unknown entry"));
        CHECK_FALSE(*matcher->teach(2, 100, "the entry is in another scope"));
        CHECK(matcher->size() == 4);

        auto hit = find(*matcher, 1, alias);
        CHECK(hit.key_hash == 100); // the entry, not the alias's own key
        CHECK(hit.canonical_key == "ck-router");
        CHECK(hit.members == 2); // the entry and its alias pooled their evidence

        // A right outcome teaches the question it was asked as; a wrong one does not.
        cache::SemanticCandidate judged = hit;
        judged.question = "router password reset, how";
        REQUIRE(matcher->outcome(judged, true));
        CHECK(matcher->size() == 5);
        judged.question = "how do I reset my modem password";
        REQUIRE(matcher->outcome(judged, false));
        CHECK(matcher->size() == 5);
        // At most max_aliases (2 here) per entry.
        CHECK_FALSE(*matcher->teach(1, 100, "a third way to ask about the router"));
        // Both judged pairs are kept for training.
        std::ifstream pairs(dir.path() / "learned-pairs.jsonl");
        std::string line;
        size_t lines = 0;
        while (std::getline(pairs, line)) ++lines;
        CHECK(lines == 2);
    }
    auto matcher = open_matcher(**db, dir);
    CHECK(matcher->size() == 5);
    CHECK(find(*matcher, 1, alias).key_hash == 100);
    REQUIRE(matcher->forget(1, 100));
    CHECK(matcher->size() == 2);
    auto after = matcher->find(1, alias);
    REQUIRE(after);
    CHECK((!after->has_value() || (*after)->key_hash == 200));
}

TEST_CASE("training for a time budget stops when a learner budgeted in steps has none left") {
    auto learner = loader::LearnerInstance::create(plugin("encoder"), R"({"train_steps": 3})");
    REQUIRE_MESSAGE(learner, learner.error().message());
    for (int i = 0; i < 20; ++i) REQUIRE(learner->observe_pair("how do I sort a list " + std::to_string(i), "sorting a list " + std::to_string(i), 1));
    int calls = 0;
    auto metrics = learning::train_for(*learner, 600'000, [&](uint64_t, uint64_t) { ++calls; });
    REQUIRE_MESSAGE(metrics, metrics.error().message());
    CHECK(nlohmann::json::parse(*metrics)["train_steps_left"] == 0);
    CHECK(calls <= 3); // not ten minutes of calls that train nothing
}

TEST_CASE("a model on canary matches its share of the questions, indexes what is cached meanwhile, and serves alone once promoted") {
    test::TempDir dir;
    auto db = store::Database::open(dir.path() / "aicache.db");
    REQUIRE(db);
    auto matcher = open_matcher(**db, dir);
    REQUIRE(matcher->remember(1, 100, "ck-router", "how do I reset my router password"));
    const std::string serving = matcher->model();
    auto other = loader::LearnerInstance::create(plugin("encoder"), R"({"seed": 2})");
    REQUIRE(other);
    auto checkpoint = other->save_state();
    REQUIRE(checkpoint);
    CHECK_FALSE(matcher->canary_counts().has_value());
    auto started = matcher->start_canary(*checkpoint, 0.5);
    REQUIRE_MESSAGE(started, started.error().message());
    CHECK(started->reembedded == 1);
    CHECK(matcher->start_canary(*checkpoint, 0.5).error().code() == Errc::busy);
    CHECK(matcher->reload(std::nullopt).error().code() == Errc::busy);
    REQUIRE(matcher->remember(1, 200, "ck-bread", "how do I bake sourdough bread")); // into both models' indexes
    size_t on_canary = 0;
    for (int i = 0; i < 40; ++i) on_canary += find(*matcher, 1, "question number " + std::to_string(i)).canary;
    auto counts = matcher->canary_counts();
    REQUIRE(counts);
    CHECK(counts->canary_counts.lookups == on_canary);
    CHECK(counts->serving_counts.lookups == 40 - on_canary);
    CHECK_MESSAGE((on_canary > 8 && on_canary < 32), "about half the questions meet the canary: ", on_canary);
    CHECK(find(*matcher, 1, "question number 3").canary == find(*matcher, 1, "question number 3").canary); // by the text: always the same side

    REQUIRE(matcher->end_canary(true));
    CHECK(matcher->model() == started->model);
    CHECK(matcher->model() != serving);
    CHECK_FALSE(matcher->canary_counts().has_value());
    cache::SemanticCandidate bread = find(*matcher, 1, "how do I bake sourdough bread");
    CHECK_MESSAGE(bread.key_hash == 200, "what was cached during the canary is in the promoted model's index");
    CHECK_FALSE(bread.canary);
    CHECK(matcher->end_canary(false).code() == Errc::not_found);
}
