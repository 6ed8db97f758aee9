// Policy parameters by name, and "winners" in a search space: what a per-trace evolve search
// writes instead of bit numbers read off the baseline table.
#include "core/files.hpp"
#include "patches/generator.hpp"
#include "patches/winner_choices.hpp"
#include "test_support.hpp"

#include <doctest/doctest.h>

using namespace aicache;

namespace {

std::filesystem::path templates() { return test::source_dir() / "host" / "patches" / "templates"; }

patches::PatchTemplate history() {
    auto loaded = patches::PatchTemplate::load(templates() / "history.cpp.in");
    REQUIRE_MESSAGE(loaded, loaded.error().message());
    return *loaded;
}

const patches::TemplateParameter &parameter(const patches::PatchTemplate &t, const std::string &name) {
    for (const auto &p : t.parameters)
        if (p.name == name) return p;
    FAIL("no parameter " << name);
    throw;
}

// cloudphysics as measured: ARC best at 1% and 25%, LIRS at 5%, W-TinyLFU at 10%.
patches::ClassicalBaseline cloudphysics() {
    patches::ClassicalBaseline b;
    b.traces = {"cloudphysics.txt"};
    b.sizes = {"1%", "5%", "10%", "25%"};
    b.cells = {{"cloudphysics.txt", "1%", "arc", 0.1725}, {"cloudphysics.txt", "5%", "lirs", 0.2073},
               {"cloudphysics.txt", "10%", "wtinylfu", 0.2542}, {"cloudphysics.txt", "25%", "arc", 0.3861}};
    return b;
}

} // namespace

TEST_CASE("a_policy_parameter_takes_names_or_its_number") {
    const auto t = history();
    const auto &classical = parameter(t, "classical");
    const auto &first = parameter(t, "first");
    CHECK(*patches::parameter_value(classical, "arc+lirs+wtinylfu") == 14);
    CHECK(*patches::parameter_value(classical, "14") == 14);
    CHECK(*patches::parameter_value(first, "wtinylfu") == 4);
    CHECK(*patches::parameter_value(first, "0") == 0);
    CHECK(classical.max == 1023);
    CHECK(first.max == 10);

    auto unknown = patches::parameter_value(classical, "arc+belady");
    REQUIRE_FALSE(unknown);
    CHECK(unknown.error().message().find("no policy \"belady\" (known: lru, lirs, arc") != std::string::npos);
    CHECK_FALSE(patches::parameter_value(first, "arc+lirs")); // an index names one policy

    // By name or by number, the same patch.
    auto by_name = t.instantiate({{"classical", "arc+lirs+wtinylfu"}, {"first", "arc"}});
    auto by_number = t.instantiate({{"classical", "14"}, {"first", "3"}});
    REQUIRE(by_name);
    REQUIRE(by_number);
    CHECK(*by_name == *by_number);
    CHECK(by_name->find("constexpr unsigned kClassical = 14;") != std::string::npos);
}

TEST_CASE("the_winners_lead_from_the_largest_size_down") {
    CHECK(patches::baseline_winners(cloudphysics()) == std::vector<std::string>{"arc", "wtinylfu", "lirs"});
}

TEST_CASE("winners_in_a_space_become_the_baseline_s_policies") {
    const auto baseline = cloudphysics();
    auto resolved = patches::resolve_winners(
        nlohmann::json::parse(R"({"template": "history", "fixed": {"sample": "64"},
                                  "choices": {"classical": ["winners", "1023"], "first": ["winners", "lru"], "window": ["0.01", "0.1"]}})"),
        templates(), &baseline);
    REQUIRE_MESSAGE(resolved, resolved.error().message());
    CHECK((*resolved)["choices"]["classical"] == nlohmann::json::array({"arc+wtinylfu+lirs", "arc", "wtinylfu", "lirs", "1023"}));
    CHECK((*resolved)["choices"]["first"] == nlohmann::json::array({"arc", "wtinylfu", "lirs", "lru"}));
    CHECK((*resolved)["choices"]["window"] == nlohmann::json::array({"0.01", "0.1"}));
    CHECK(*patches::parameter_value(parameter(history(), "classical"), (*resolved)["choices"]["classical"][0]) == 14);

    auto fixed = patches::resolve_winners(nlohmann::json::parse(R"({"template": "history", "fixed": {"first": "winners", "classical": "winners"}})"),
                                          templates(), &baseline);
    REQUIRE(fixed);
    CHECK((*fixed)["fixed"]["first"] == "arc");
    CHECK((*fixed)["fixed"]["classical"] == "arc+wtinylfu+lirs");

    const auto untouched = nlohmann::json::parse(R"({"template": "history", "choices": {"first": ["2"]}})");
    CHECK(*patches::resolve_winners(untouched, templates(), nullptr) == untouched);
}

TEST_CASE("winners_without_a_baseline_or_a_policy_parameter_is_refused") {
    const auto baseline = cloudphysics();
    auto no_baseline = patches::resolve_winners(nlohmann::json::parse(R"({"template": "history", "choices": {"first": ["winners"]}})"),
                                                templates(), nullptr);
    REQUIRE_FALSE(no_baseline);
    CHECK(no_baseline.error().message().find("--baseline best-classical") != std::string::npos);

    auto not_policies = patches::resolve_winners(nlohmann::json::parse(R"({"template": "history", "choices": {"window": ["winners"]}})"),
                                                 templates(), &baseline);
    REQUIRE_FALSE(not_policies);
    CHECK(not_policies.error().message().find("window is not a policy parameter of template history") != std::string::npos);
}

TEST_CASE("a_template_parameter_line_reads_by_its_type") {
    test::TempDir dir;
    auto load = [&](const std::string &line) {
        const auto file = dir.path() / "t.cpp.in";
        REQUIRE(write_file_atomic(file, line + "\nint x = 0;\n"));
        return patches::PatchTemplate::load(file);
    };
    // The type field decides, not words elsewhere on the line.
    auto odd_names = load("// param pick policy 0 expression lru");
    REQUIRE_MESSAGE(odd_names, odd_names.error().message());
    CHECK(odd_names->parameters[0].policy_kind == patches::TemplateParameter::Policies::index);
    CHECK(odd_names->parameters[0].policies == std::vector<std::string>{"expression", "lru"});
    CHECK(*patches::parameter_value(odd_names->parameters[0], "lru") == 2);

    auto no_policies = load("// param pick policies 0");
    REQUIRE_FALSE(no_policies);
    CHECK(no_policies.error().message().find("expected `// param NAME policies|policy DEFAULT POLICY...`") != std::string::npos);
    auto bad_default = load("// param pick policies 4 lru lirs");
    REQUIRE_FALSE(bad_default);
    CHECK(bad_default.error().message().find("default of pick out of range") != std::string::npos);
    auto unknown_type = load("// param pick colour 0 1 0");
    REQUIRE_FALSE(unknown_type);
    CHECK(unknown_type.error().message().find("expected `// param NAME number|integer MIN MAX DEFAULT`") != std::string::npos);
}
