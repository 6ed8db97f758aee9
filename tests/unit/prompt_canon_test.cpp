// Prompt canonicalization (cache/prompt_canon), its measurement on labelled pairs
// (learning/canon_eval) and the canon optimizer's forward selection through the loader.
#include "cache/prompt_canon.hpp"
#include "learning/canon_eval.hpp"
#include "loader/optimizer_instance.hpp"
#include "loader/plugin_library.hpp"
#include "test_support.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <set>

using namespace aicache;
using cache::PromptCanon;

namespace {
PromptCanon steps(const char *list) {
    auto c = PromptCanon::parse(list);
    REQUIRE_MESSAGE(c, c.error().message());
    return *c;
}
} // namespace

TEST_CASE("each canonicalization step rewrites only what it names, and prose steps never touch code") {
    CHECK(steps("whitespace").apply("  How  do\tI\nsort?  ") == "How do I sort?");
    CHECK(steps("case").apply("How do I use C++ in VS Code?") == "how do i use c++ in vs code?");
    CHECK(steps("punctuation").apply("What's new in node.js 3.5? (really)") == "What's new in node.js 3.5 really");
    CHECK(steps("none").apply(" Same ") == " Same ");
    const std::string code = "Why does this fail?\n```Python\n\tTotal = 0\nfor x in xs:\n\tTotal += x   \n\n```";
    std::string prose_only = steps("whitespace,case,punctuation").apply(code);
    CHECK(prose_only.find("```Python\n\tTotal = 0\n") != std::string::npos); // the code is as written
    CHECK(prose_only.rfind("why does this fail", 0) == 0);
    CHECK(steps("code").apply(code) == "Why does this fail?\n```python\n    Total = 0\nfor x in xs:\n    Total += x\n```");
}

TEST_CASE("identifier renaming makes snippets that differ only in their variable names equal, but not ones that call other functions") {
    PromptCanon ids = steps("code,identifiers");
    const std::string a = "Fix this:\n```python\ntotal = 0\nfor item in items:\n    total += item.price\nprint(total)\n```";
    const std::string b = "Fix this:\n```python\ns = 0\nfor it in items:\n    s += it.price\nprint(s)\n```";
    const std::string c = "Fix this:\n```python\ns = 0\nfor it in items:\n    s += it.cost\nlog(s)\n```";
    CHECK(ids.apply(a) == ids.apply(b));
    CHECK(ids.apply(a) != ids.apply(c)); // another member and another function
    CHECK(ids.apply(a).find(".price") != std::string::npos);
    CHECK(ids.apply("```js\nlet name = \"total = 1\";\n```").find("\"total = 1\"") != std::string::npos); // strings keep their text
}

TEST_CASE("canonicalization lists parse in any order, name themselves in one, and refuse unknown steps") {
    CHECK(steps("case,whitespace").name() == "whitespace,case");
    CHECK(steps("").name() == "none");
    CHECK(steps("none").empty());
    auto bad = PromptCanon::parse("case,stemming");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message().find("stemming") != std::string::npos);
}

TEST_CASE("a canonicalization is scored by the exact hits it gains on pairs, and refused if it adds a false hit") {
    std::vector<learning::LabelledPair> pairs = {{"How do I sort?", "how do i sort", 1},
                                                 {"What is Rust?", "what is rust?", 1},
                                                 {"Explain monads", "Explain a monad", 1},
                                                 {"US visa", "us visa", 0}};
    auto none = learning::exact_matches(pairs, {});
    CHECK(none.hits == 0);
    auto cased = learning::exact_matches(pairs, steps("case"));
    CHECK(cased.hits == 1);
    CHECK(cased.false_hits == 1);
    auto evaluate = learning::canon_evaluator(pairs, "test pairs");
    auto with_case = evaluate({{"params", {{"steps", "case,punctuation"}}}});
    CHECK(with_case.score == learning::kFailedCanon);
    CHECK(with_case.outcome == "rejected: adds 1 false hits");
    auto punct = evaluate({{"params", {{"steps", "punctuation"}}}});
    CHECK(punct.score == doctest::Approx(0.0)); // "how do i sort" still differs in case
    CHECK(evaluate({{"params", {{"steps", "stemming"}}}}).outcome.rfind("rejected: unknown canonicalization step", 0) == 0);
}

TEST_CASE("canon selects steps forward: a round of single steps, then the best one joined by each other, until none helps") {
    auto library = loader::PluginLibrary::load_file(test::plugin_path("canon"));
    REQUIRE_MESSAGE(library, library.error().message());
    auto o = loader::OptimizerInstance::create(*library, R"({"steps": ["a", "b", "c"]})");
    REQUIRE_MESSAGE(o, o.error().message());
    // "a" helps alone, "a,c" more, adding "b" to anything hurts.
    auto score = [](const std::string &s) { return (s.find('a') != std::string::npos ? 1.0 : 0) + (s == "a,c" ? 1.0 : 0) - (s.find('b') != std::string::npos ? 5.0 : 0); };
    std::vector<std::string> asked;
    for (int i = 0; i < 8; ++i) {
        auto c = o->ask();
        REQUIRE(c);
        nlohmann::json candidate = nlohmann::json::parse(*c);
        std::string set = candidate["params"]["steps"];
        asked.push_back(set);
        REQUIRE(o->tell(*c, score(set)));
    }
    // none; a, b, c; a+b, a+c; a+c+b (worse): stopped, then the best repeated.
    CHECK(asked == std::vector<std::string>{"none", "a", "b", "c", "a,b", "a,c", "a,b,c", "a,c"});
    auto best = o->best();
    REQUIRE(best);
    CHECK(nlohmann::json::parse(*best)["params"]["steps"] == "a,c");
}
