#include <aicache/sdk/config.hpp>

#include <doctest/doctest.h>

using aicache::sdk::Config;

TEST_CASE("config_reads_numbers_strings_and_defaults") {
    Config c = Config::parse(R"({"capacity_bytes": 1048576, "small_ratio": 0.25, "name": "a \"b\"", "on": true})");
    CHECK(c.unsigned_integer("capacity_bytes", 0) == 1048576);
    CHECK(c.number("small_ratio", 0) == doctest::Approx(0.25));
    CHECK(c.text("name", "") == "a \"b\"");
    CHECK(c.text("on", "") == "true");
    CHECK(c.number("missing", 7.5) == doctest::Approx(7.5));
    CHECK(Config::parse("").unsigned_integer("x", 3) == 3);
    CHECK(Config::parse("{}").has("x") == false);
}

TEST_CASE("config_rejects_malformed_json_with_the_byte_offset") {
    CHECK_THROWS_WITH_AS(Config::parse(R"({"a": 1)"), doctest::Contains("unexpected end"), aicache::sdk::Error);
    CHECK_THROWS_WITH_AS(Config::parse(R"({"a": {"b": 1}})"), doctest::Contains("\"a\""), aicache::sdk::Error);
    CHECK_THROWS_WITH_AS(Config::parse(R"({"a": 1} x)"), doctest::Contains("trailing"), aicache::sdk::Error);
    CHECK_THROWS_AS(Config::parse(R"({"n": -4})").unsigned_integer("n", 0), aicache::sdk::Error);
    CHECK_THROWS_AS(Config::parse(R"({"n": "x"})").number("n", 0), aicache::sdk::Error);
}

TEST_CASE("a config copied with one key set leaves the original as it was") {
    const Config base = Config::parse(R"({"capacity_bytes": 4096, "small_ratio": 0.1})");
    const Config changed = base.with("small_ratio", "0.02").with("move_to_main_threshold", "1");
    CHECK(changed.number("small_ratio", 0) == doctest::Approx(0.02));
    CHECK(changed.unsigned_integer("move_to_main_threshold", 2) == 1);
    CHECK(changed.unsigned_integer("capacity_bytes", 0) == 4096);
    CHECK(base.number("small_ratio", 0) == doctest::Approx(0.1));
    CHECK_FALSE(base.has("move_to_main_threshold"));
    CHECK_THROWS_AS(base.with("small_ratio", "x").number("small_ratio", 0), aicache::sdk::Error);
}
