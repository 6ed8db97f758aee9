#include "core/files.hpp"
#include "loader/elf_check.hpp"
#include "test_support.hpp"

#include <doctest/doctest.h>

using namespace aicache;
using aicache::test::fixture_path;
using aicache::test::plugin_path;

TEST_CASE("a_built_plugin_has_its_entry_symbol_and_no_gnu_unique_symbols") {
    auto bytes = read_file(plugin_path("lru"));
    REQUIRE(bytes);
    auto facts = loader::inspect_elf(*bytes, "lru.so");
    REQUIRE(facts);
    CHECK(facts->has_entry_symbol);
    CHECK(facts->gnu_unique_symbols.empty());
    CHECK(loader::check_loadable(*facts, "lru.so").is_ok());
}

TEST_CASE("files_that_cannot_be_plugins_are_refused_before_mapping") {
    SUBCASE("not an ELF file") {
        auto facts = loader::inspect_elf("#!/bin/sh\necho hi\n", "script.so");
        REQUIRE_FALSE(facts);
        CHECK(facts.error().message().find("not an ELF file") != std::string::npos);
    }
    SUBCASE("truncated library") {
        auto bytes = read_file(plugin_path("lru"));
        REQUIRE(bytes);
        auto facts = loader::inspect_elf(std::string_view(*bytes).substr(0, bytes->size() / 2), "half.so");
        REQUIRE_FALSE(facts);
        CHECK(facts.error().message().find("truncated") != std::string::npos);
    }
    SUBCASE("no entry symbol") {
        auto bytes = read_file(fixture_path("no_entry"));
        REQUIRE(bytes);
        auto facts = loader::inspect_elf(*bytes, "no_entry.so");
        REQUIRE(facts);
        Status s = loader::check_loadable(*facts, "no_entry.so");
        CHECK(s.message().find("no exported aicache_plugin_init") != std::string::npos);
    }
    SUBCASE("GNU-unique symbols") {
        auto bytes = read_file(fixture_path("gnu_unique"));
        REQUIRE(bytes);
        auto facts = loader::inspect_elf(*bytes, "gnu_unique.so");
        REQUIRE(facts);
        CHECK_FALSE(facts->gnu_unique_symbols.empty());
        CHECK(loader::check_loadable(*facts, "gnu_unique.so").message().find("GNU-unique") != std::string::npos);
    }
}
