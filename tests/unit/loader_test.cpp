#include "loader/content_store.hpp"
#include "loader/plugin_library.hpp"
#include "loader/policy_instance.hpp"
#include "test_support.hpp"

#include <doctest/doctest.h>

#include <dlfcn.h>

using namespace aicache;
using aicache::test::fixture_path;
using aicache::test::plugin_path;

TEST_CASE("loading_copies_the_library_to_its_content_address") {
    test::TempDir dir;
    loader::ContentStore store(dir.path() / "plugins");
    auto stored = store.put(plugin_path("lru"));
    REQUIRE(stored);
    CHECK(stored->path == dir.path() / "plugins" / (stored->content_hash + ".so"));
    CHECK(std::filesystem::exists(stored->path));
    auto again = store.put(plugin_path("lru"));
    REQUIRE(again);
    CHECK(again->path == stored->path);
}

TEST_CASE("unloading_a_plugin_removes_its_mapping") {
    test::TempDir dir;
    loader::ContentStore store(dir.path() / "plugins");
    auto stored = store.put(plugin_path("sieve"));
    REQUIRE(stored);
    {
        auto library = loader::PluginLibrary::load(*stored);
        REQUIRE(library);
        CHECK((*library)->facts().name == "sieve");
        CHECK((*library)->facts().abi_major == AICACHE_ABI_MAJOR);
        CHECK(test::is_mapped(stored->content_hash));
        auto instance = loader::PolicyInstance::create(*library, "{\"capacity_bytes\":100}");
        REQUIRE(instance);
        library->reset(); // the instance alone keeps the code mapped
        CHECK(test::is_mapped(stored->content_hash));
    }
    CHECK_FALSE(test::is_mapped(stored->content_hash));
}

TEST_CASE("two_builds_with_the_same_file_name_load_as_two_versions") {
    // dlopen would hand back the first library for a path it has seen; content addresses differ.
    test::TempDir dir;
    loader::ContentStore store(dir.path() / "plugins");
    auto v1 = store.put(test::build_dir() / "fixtures" / "v1" / "versioned.so");
    auto v2 = store.put(test::build_dir() / "fixtures" / "v2" / "versioned.so");
    REQUIRE(v1);
    REQUIRE(v2);
    CHECK(v1->content_hash != v2->content_hash);
    auto a = loader::PluginLibrary::load(*v1);
    auto b = loader::PluginLibrary::load(*v2);
    REQUIRE(a);
    REQUIRE(b);
    CHECK((*a)->facts().version == "1.0.0");
    CHECK((*b)->facts().version == "2.0.0");
}

TEST_CASE("negotiation_refuses_broken_descriptors_with_a_reason") {
    auto expect_refused = [](const std::string &fixture, const std::string &reason) {
        auto library = loader::PluginLibrary::load_file(fixture_path(fixture));
        INFO(fixture);
        REQUIRE_FALSE(library);
        INFO(library.error().message());
        CHECK(library.error().message().find(reason) != std::string::npos);
    };
    expect_refused("wrong_abi", "ABI major 2, host speaks 1");
    expect_refused("small_struct", "struct too small");
    expect_refused("no_entry", "no exported aicache_plugin_init");
    expect_refused("gnu_unique", "GNU-unique");
}

TEST_CASE("plugin_errors_carry_the_text_the_plugin_reported") {
    auto library = loader::PluginLibrary::load_file(fixture_path("throws"));
    REQUIRE(library);
    auto instance = loader::PolicyInstance::create(*library, "{}");
    REQUIRE(instance);
    aicache_entry_meta meta{sizeof(aicache_entry_meta), 0, 3, 10, 1, 0, 0, 0};
    aicache_status status = instance->insert(meta);
    CHECK(status == AICACHE_ERR_INTERNAL);
    Status failure = loader::plugin_failure("on_insert", status);
    CHECK(failure.message() == "on_insert failed (internal): boom: this fixture throws from on_insert");
}

TEST_CASE("a_library_whose_bytes_are_not_the_qualified_ones_is_refused_before_it_is_mapped") {
    test::TempDir dir;
    const auto file = dir.path() / "copy_of_lru.so"; // a path nothing in this process has mapped
    std::filesystem::copy_file(plugin_path("lru"), file);
    auto sieve = loader::read_library(plugin_path("sieve"));
    REQUIRE(sieve);
    auto refused = loader::PluginLibrary::load_file(file, sieve->content_hash); // as if sieve had passed, then been replaced
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code() == Errc::busy);
    CHECK(refused.error().message().find("changed between its qualification and its loading") != std::string::npos);
    CHECK(::dlopen(file.c_str(), RTLD_NOW | RTLD_NOLOAD) == nullptr); // never mapped, so no constructor of it ran
    auto lru = loader::read_library(file);
    REQUIRE(lru);
    auto loaded = loader::PluginLibrary::load_file(file, lru->content_hash);
    REQUIRE_MESSAGE(loaded, loaded.error().message());
    CHECK((*loaded)->facts().content_hash == lru->content_hash);
}
