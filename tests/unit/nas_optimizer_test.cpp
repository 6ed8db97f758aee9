// The nas optimizer plugin through the loader: aging evolution over the encoder's architectures
// (random first, then one-gene children of a sample's best, the oldest dying), then
// population-based training of the best architecture (members continue from checkpoints, the
// worst copy the best and perturb), and a search that resumes where it stopped.
#include "learning/encoder_search.hpp"
#include "loader/optimizer_instance.hpp"
#include "loader/plugin_library.hpp"
#include "test_support.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <set>

using namespace aicache;
using nlohmann::json;

namespace {

loader::OptimizerInstance open(const json &space) {
    auto library = loader::PluginLibrary::load_file(test::plugin_path("nas"));
    REQUIRE_MESSAGE(library, library.error().message());
    auto instance = loader::OptimizerInstance::create(*library, space.dump());
    REQUIRE_MESSAGE(instance, instance.error().message());
    return std::move(*instance);
}

json ask(loader::OptimizerInstance &o) {
    auto asked = o.ask();
    REQUIRE_MESSAGE(asked, asked.error().message());
    return json::parse(*asked);
}

void tell(loader::OptimizerInstance &o, const json &c, double score) {
    Status told = o.tell(c.dump(), score);
    REQUIRE_MESSAGE(told, told.message());
}

// A score the architecture phase can climb: one point per gene at its favoured value.
double architecture_score(const json &params) {
    return (params["layers"] == 2) + (params["hidden"] == 256) + (params["bag_dim"] == 128) + (params["dim"] == 64) +
           (params["activation"] == "gelu") + (params["dropout"] == 0.1);
}

const json kSpace = {{"seed", 3}, {"population", 6}, {"sample", 3}, {"architectures", 30}, {"steps", 50}, {"fixed", {{"buckets", 4096}}},
                     {"pbt", {{"members", 4}, {"generations", 3}, {"steps", 20}}}};

size_t genes_changed(const json &a, const json &b) {
    size_t n = 0;
    for (const char *gene : {"layers", "hidden", "bag_dim", "dim", "activation", "dropout"}) n += a["params"][gene] != b["params"][gene];
    return n;
}

} // namespace

TEST_CASE("nas draws its first population at random, then breeds one-gene children of a sample's best") {
    auto o = open(kSpace);
    std::vector<json> told;
    double first_best = -1, later_best = -1;
    for (int i = 0; i < 30; ++i) {
        json c = ask(o);
        CHECK(c["phase"] == "architecture");
        CHECK(c["steps"] == 50);
        CHECK_MESSAGE(!c.contains("seeds"), "one random start unless the space asks for more");
        CHECK_MESSAGE(c["params"]["buckets"] == 4096, "fixed configuration passes through");
        if (i >= 6) {
            size_t closest = 99;
            for (const json &t : told) closest = std::min(closest, genes_changed(c, t));
            CHECK_MESSAGE(closest == 1, "a child differs from a member in exactly one gene: ", c.dump());
        }
        const double score = architecture_score(c["params"]);
        (i < 6 ? first_best : later_best) = std::max(i < 6 ? first_best : later_best, score);
        tell(o, c, score);
        told.push_back(c);
    }
    MESSAGE("best of the random population " << first_best << ", of the children " << later_best);
    CHECK_MESSAGE(later_best > first_best, "evolution should climb a score that rewards each gene on its own");
}

TEST_CASE("nas then trains the best architecture by population-based training, the worst members copying the best") {
    json space = kSpace;
    space["architectures"] = 4;
    space["seeds"] = 3;
    auto o = open(space);
    json best_architecture;
    for (int i = 0; i < 4; ++i) {
        json c = ask(o);
        CHECK_MESSAGE(c["seeds"] == 3, "each architecture is trained from the space's random starts");
        const double score = architecture_score(c["params"]);
        if (best_architecture.is_null() || score > architecture_score(best_architecture)) best_architecture = c["params"];
        tell(o, c, score);
    }
    std::map<int, json> generation0;
    for (int m = 0; m < 4; ++m) {
        json c = ask(o);
        REQUIRE(c["phase"] == "pbt");
        CHECK(c["generation"] == 0);
        CHECK(c["member"] == m);
        CHECK(c["continue"].is_null());
        CHECK_MESSAGE(!c.contains("seeds"), "a member is one run, continued from generation to generation");
        CHECK(c["steps"] == 20);
        for (const char *gene : {"layers", "hidden", "bag_dim", "dim", "activation", "dropout"}) CHECK(c["params"][gene] == best_architecture[gene]);
        if (m == 0) CHECK_MESSAGE(!c["params"].contains("learning_rate"), "member 0 trains with the encoder's defaults");
        if (m > 0) CHECK(c["params"]["learning_rate"].get<double>() >= 1e-4);
        generation0[m] = c;
    }
    json waiting = ask(o);
    CHECK_MESSAGE(waiting["phase"] == "architecture", "while a generation waits, asks repeat the best candidate");
    tell(o, waiting, architecture_score(waiting["params"]));
    // Member 2 is the best, member 0 the worst: the worst copies the best's checkpoint and explores.
    const double scores[] = {0.1, 0.5, 0.9, 0.4};
    for (int m = 0; m < 4; ++m) tell(o, generation0[m], scores[m]);
    std::map<int, json> generation1;
    for (int m = 0; m < 4; ++m) generation1[m] = ask(o);
    for (int m = 0; m < 4; ++m) {
        CAPTURE(m);
        CHECK(generation1[m]["generation"] == 1);
        const json keep = generation1[m]["keep"];
        for (int p = 1; p < 4; ++p)
            CHECK_MESSAGE(std::find(keep.begin(), keep.end(), generation0[p]["id"]) != keep.end(), "the parents' checkpoints are kept");
        if (m == 0) {
            CHECK(generation1[0]["continue"] == generation0[2]["id"]);
            CHECK_MESSAGE(generation1[0]["params"]["learning_rate"] != generation0[2]["params"]["learning_rate"], "explore perturbs");
        } else {
            CHECK(generation1[m]["continue"] == generation0[m]["id"]);
            CHECK(generation1[m]["params"] == generation0[m]["params"]);
        }
    }
}

TEST_CASE("a nas search resumes from its saved state and asks what the uninterrupted one asks") {
    json space = kSpace;
    space["architectures"] = 8;
    auto uninterrupted = open(space), first = open(space);
    auto run = [](loader::OptimizerInstance &o, int trials) {
        std::vector<json> asked;
        for (int i = 0; i < trials; ++i) {
            json c = ask(o);
            asked.push_back(c);
            tell(o, c, c["phase"] == "pbt" ? 0.1 * double(c["member"].get<int>() * 7 % 5) + c["generation"].get<double>() : architecture_score(c["params"]));
        }
        return asked;
    };
    std::vector<json> all = run(uninterrupted, 22);
    (void)run(first, 14); // mid-way through the second generation of training
    auto state = first.save_state();
    REQUIRE(state);
    auto resumed = open(space);
    REQUIRE(resumed.load_state(*state));
    std::vector<json> rest = run(resumed, 8);
    for (size_t i = 0; i < rest.size(); ++i) CHECK(rest[i] == all[14 + i]);
    auto other = open(json{{"seed", 4}});
    CHECK_FALSE_MESSAGE(other.load_state(*state), "a state from another space is refused");
}

TEST_CASE("an architecture's later random starts train with the encoder's seed moved on, the first with it as configured") {
    const json candidate = {{"id", 4}, {"phase", "architecture"}, {"params", {{"layers", 2}}}, {"steps", 30}, {"seeds", 3}};
    const json first = json::parse(learning::encoder_config(R"({"buckets": 4096})", candidate));
    CHECK_MESSAGE(!first.contains("seed"), "the first start is the configuration as given");
    CHECK(first["layers"] == 2);
    CHECK(first["train_steps"] == 30);
    CHECK(json::parse(learning::encoder_config(R"({"buckets": 4096})", candidate, 2))["seed"] == 3); // the encoder's default seed is 1
    CHECK(json::parse(learning::encoder_config(R"({"seed": 7})", candidate, 1))["seed"] == 8);
}
