// The matching step over the k nearest cached questions (cache/neighbour_vote) and the operating
// point `eval fewshot` reports (learning/fewshot_eval): what the data plane serves and what the
// README's few-shot figures are read from.
#include "cache/neighbour_vote.hpp"
#include "learning/fewshot_eval.hpp"

#include <doctest/doctest.h>

using namespace aicache;
using cache::Pooling;
using cache::ScoredNeighbour;

TEST_CASE("nearest pooling scores each entry as its best member, best entry first") {
    std::vector<ScoredNeighbour> near = {{1, 0.9f}, {2, 0.95f}, {1, 0.8f}};
    auto votes = cache::vote_by_cluster(near, Pooling::nearest);
    REQUIRE(votes.size() == 2);
    CHECK(votes[0].cluster == 2);
    CHECK(votes[0].score == doctest::Approx(0.95));
    CHECK(votes[1].cluster == 1);
    CHECK(votes[1].members == 2);
    CHECK(votes[1].best_member == 0);
    CHECK(cache::vote_by_cluster({}, Pooling::attention).empty());
}

TEST_CASE("attention pooling lets an entry's verified paraphrases outvote a single slightly closer rival") {
    std::vector<ScoredNeighbour> near = {{9, 0.98f}, {7, 0.97f}, {7, 0.96f}, {3, 0.01f}};
    CHECK(cache::vote_by_cluster(near, Pooling::nearest).front().cluster == 9);
    auto votes = cache::vote_by_cluster(near, Pooling::attention, 16);
    CHECK(votes.front().cluster == 7);
    CHECK(votes.front().members == 2);
    CHECK(votes.front().best_member == 1);
    // Pooled estimates stay probabilities: they never exceed the best member's score.
    for (const auto &v : votes) CHECK(v.score <= near[v.best_member].score);
}

TEST_CASE("attention pooling scores an ambiguous question below a clear one with the same best match") {
    std::vector<ScoredNeighbour> clear = {{1, 0.99f}, {2, 0.01f}, {3, 0.01f}, {4, 0.01f}};
    std::vector<ScoredNeighbour> ambiguous = {{1, 0.99f}, {2, 0.99f}, {3, 0.01f}, {4, 0.01f}};
    for (float t : {1.0f, 16.0f}) {
        CAPTURE(t);
        CHECK(cache::vote_by_cluster(ambiguous, Pooling::attention, t).front().score <
              cache::vote_by_cluster(clear, Pooling::attention, t).front().score);
    }
    // A very low temperature is the nearest member's score again.
    CHECK(cache::vote_by_cluster(clear, Pooling::attention, 0.01f).front().score == doctest::Approx(0.99).epsilon(1e-3));
}

TEST_CASE("pooling names parse both ways, and anything else is refused") {
    Pooling p = Pooling::nearest;
    CHECK(cache::parse_pooling("attention", p));
    CHECK(p == Pooling::attention);
    CHECK(std::string(cache::pooling_name(p)) == "attention");
    CHECK(cache::parse_pooling("nearest", p));
    CHECK(p == Pooling::nearest);
    CHECK_FALSE(cache::parse_pooling("vote", p));
}

TEST_CASE("eval fewshot's operating point is the lowest threshold whose wrong answers stay within the target share of all questions") {
    using learning::ScoredLookup;
    // 10 questions, 4 with their cluster cached; at most 1 wrong answer allowed (10%).
    std::vector<ScoredLookup> lookups = {{0.9f, true}, {0.8f, false}, {0.7f, true}, {0.6f, false}, {0.5f, true}};
    auto p = learning::best_point(lookups, 4, 10, 0.1);
    CHECK(p.threshold == doctest::Approx(0.7));
    CHECK(p.right == 2);
    CHECK(p.wrong == 1);
    CHECK(p.hit_rate == doctest::Approx(0.5));
    CHECK(p.false_hit_rate == doctest::Approx(0.1));
    // Lookups at one score are answered together: a tie with a wrong answer cannot be split.
    auto tied = learning::best_point({{0.9f, true}, {0.9f, false}, {0.5f, true}}, 2, 10, 0.0);
    CHECK(tied.right == 0);
    CHECK(tied.threshold > 0.9);
}
