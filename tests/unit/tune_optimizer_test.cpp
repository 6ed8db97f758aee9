// The tune optimizer plugin through the loader: where it starts, what it asks (bounded, integral
// where asked), that dlib's search finds the top of a smooth function better than random search
// with twice the evaluations, and what it refuses.
#include "loader/optimizer_instance.hpp"
#include "loader/plugin_library.hpp"
#include "test_support.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

using namespace aicache;

namespace {

std::shared_ptr<const loader::PluginLibrary> tune_plugin() {
    auto library = loader::PluginLibrary::load_file(test::plugin_path("tune"));
    REQUIRE_MESSAGE(library, library.error().message());
    return *library;
}

loader::OptimizerInstance open(const nlohmann::json &space) {
    auto instance = loader::OptimizerInstance::create(tune_plugin(), space.dump());
    REQUIRE_MESSAGE(instance, instance.error().message());
    return std::move(*instance);
}

nlohmann::json ask(loader::OptimizerInstance &o) {
    auto asked = o.ask();
    REQUIRE_MESSAGE(asked, asked.error().message());
    return nlohmann::json::parse(*asked);
}

const nlohmann::json kSpace = {{"parameters", {{"a", {{"min", 0.0}, {"max", 1.0}}}, {"b", {{"min", 0.001}, {"max", 10.0}, {"log", true}}},
                                               {"n", {{"min", 1}, {"max", 5}, {"integer", true}}}}},
                               {"start", {{"a", 0.2}, {"b", 0.5}, {"n", 3}}}};

// A smooth function with its top at a = 0.62, b = 0.05, n = 2 (b is compared on its log scale).
double smooth(const nlohmann::json &p) {
    double a = p["a"].get<double>(), lb = std::log10(p["b"].get<double>()) - std::log10(0.05), n = p["n"].get<double>() - 2;
    return -(a - 0.62) * (a - 0.62) - 0.1 * lb * lb - 0.05 * n * n;
}

double best_after(const std::string &method, uint64_t seed, int evaluations) {
    nlohmann::json space = kSpace;
    space["method"] = method;
    space["seed"] = seed;
    auto o = open(space);
    double best = -1e9;
    for (int i = 0; i < evaluations; ++i) {
        nlohmann::json c = ask(o);
        double y = smooth(c["params"]);
        best = std::max(best, y);
        REQUIRE(o.tell(c.dump(), y));
    }
    return best;
}

} // namespace

TEST_CASE("tune starts at the start point and asks only bounded values, integral where the space says so") {
    for (const char *method : {"dlib", "random"}) {
        CAPTURE(method);
        nlohmann::json space = kSpace;
        space["method"] = method;
        space["fixed"] = {{"adaptive", "false"}};
        auto o = open(space);
        nlohmann::json first = ask(o);
        CHECK(first["params"]["a"] == 0.2);
        CHECK(first["params"]["b"] == 0.5);
        CHECK(first["params"]["n"] == 3);
        CHECK(first["params"]["adaptive"] == "false");
        REQUIRE(o.tell(first.dump(), 0.0));
        for (int i = 0; i < 12; ++i) {
            nlohmann::json c = ask(o);
            INFO(c.dump());
            CHECK(c["params"]["a"].get<double>() >= 0.0);
            CHECK(c["params"]["a"].get<double>() <= 1.0);
            CHECK(c["params"]["b"].get<double>() >= 0.001);
            CHECK(c["params"]["b"].get<double>() <= 10.0);
            CHECK(c["params"]["n"].is_number_integer());
            REQUIRE(o.tell(c.dump(), smooth(c["params"])));
        }
        auto best = o.best();
        REQUIRE(best);
        CHECK(nlohmann::json::parse(*best)["score"].get<double>() >= smooth(first["params"]));
    }
}

TEST_CASE("dlib's search comes closer to a smooth function's top in 20 evaluations than random search does in 40") {
    // Mean over seeds of the best found (the top is 0). dlib solves the real coordinates exactly
    // and sometimes stays at a neighbouring integer: measured mean -0.021 against random's -0.051.
    double dlib = 0, random = 0;
    for (uint64_t seed = 1; seed <= 5; ++seed) dlib += best_after("dlib", seed, 20) / 5, random += best_after("random", seed, 40) / 5;
    CHECK(dlib > random);
    CHECK(dlib > -0.03);
}

TEST_CASE("tune refuses a space it cannot search, and a told candidate it never asked for") {
    for (const char *bad : {R"({"parameters": {"a": {"min": 1, "max": 0}}})", R"({"parameters": {"a": {"min": 0, "max": 1, "log": true}}})",
                            R"({"method": "grid"})", R"({"parameters": {"a": {"min": 0, "max": 1}}, "start": {"a": 2}})", R"([1, 2])"}) {
        CAPTURE(bad);
        CHECK_FALSE(loader::OptimizerInstance::create(tune_plugin(), bad));
    }
    auto o = open(kSpace);
    CHECK_FALSE(o.tell(R"({"id": 99})", 1.0));
    nlohmann::json c = ask(o);
    CHECK_FALSE(o.tell(c.dump(), std::nan("")));
}
