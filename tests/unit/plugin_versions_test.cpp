#include "core/files.hpp"
#include "core/hash.hpp"
#include "loader/plugin_host.hpp"
#include "store/database.hpp"
#include "test_support.hpp"

#include <doctest/doctest.h>

using namespace aicache;

namespace {
std::filesystem::path v1() { return test::build_dir() / "fixtures" / "v1" / "versioned.so"; }
std::filesystem::path v2() { return test::build_dir() / "fixtures" / "v2" / "versioned.so"; }
} // namespace

TEST_CASE("every_loaded_version_is_recorded_and_rollback_survives_a_restart") {
    test::TempDir dir;
    std::string v1_hash, v2_hash;
    {
        auto db = store::Database::open(dir.path() / "aicache.db");
        REQUIRE(db);
        loader::PluginHost host(**db, dir.path() / "plugins", {});
        auto a = host.load(v1(), "alice");
        REQUIRE(a);
        auto b = host.load(v2(), "bob");
        REQUIRE(b);
        v1_hash = a->record.content_hash;
        v2_hash = b->record.content_hash;
        CHECK(a->record.id != b->record.id);
        CHECK(b->record.loaded_by == "bob");
        CHECK(b->record.abi_major == 1);
        auto active = host.versions().active("versioned");
        REQUIRE(active);
        REQUIRE(*active);
        CHECK((*active)->version == "2.0.0");
    }
    {
        // A new process: the versions come back from SQLite and the library store on disk.
        auto db = store::Database::open(dir.path() / "aicache.db");
        REQUIRE(db);
        loader::PluginHost host(**db, dir.path() / "plugins", {});
        auto rolled = host.rollback("versioned", std::nullopt, "carol");
        REQUIRE_MESSAGE(rolled, (rolled ? "" : rolled.error().message()));
        CHECK(rolled->record.version == "1.0.0");
        CHECK(rolled->library->facts().content_hash == v1_hash);
        auto history = host.versions().history("versioned");
        REQUIRE(history);
        REQUIRE(history->size() == 3);
        CHECK((*history)[2].action == "rollback");
        CHECK((*history)[2].by == "carol");
        auto to = host.rollback("versioned", v2_hash.substr(0, 10), "carol");
        REQUIRE(to);
        CHECK(to->record.version == "2.0.0");
        auto by_version = host.rollback("versioned", std::string("1.0.0"), "carol");
        REQUIRE(by_version);
        CHECK(by_version->record.content_hash == v1_hash);
        CHECK_FALSE(host.rollback("versioned", std::string("9.9.9"), "carol"));
        CHECK_FALSE(host.rollback("nonexistent", std::nullopt, "carol"));
    }
}

TEST_CASE("a_subscriber_that_refuses_a_version_leaves_the_active_one_in_place") {
    test::TempDir dir;
    auto db = store::Database::open(dir.path() / "aicache.db");
    REQUIRE(db);
    loader::PluginHost host(**db, dir.path() / "plugins", {});
    REQUIRE(host.load(v1(), "alice"));
    host.subscribe([](const std::string &, const std::shared_ptr<const loader::PluginLibrary> &lib) {
        return lib->facts().version == "2.0.0" ? Status(Errc::plugin, "refused by test") : Status::ok();
    });
    auto refused = host.load(v2(), "alice");
    REQUIRE_FALSE(refused);
    auto active = host.versions().active("versioned");
    REQUIRE(active);
    CHECK((*active)->version == "1.0.0");
}

TEST_CASE("a_qualifier_that_fails_keeps_the_library_out") {
    test::TempDir dir;
    auto db = store::Database::open(dir.path() / "aicache.db");
    REQUIRE(db);
    loader::PluginHost host(**db, dir.path() / "plugins", [](const std::filesystem::path &) {
        return Expected<std::string>(Status(Errc::plugin, "conformance: said no"));
    });
    auto loaded = host.load(v1(), "alice");
    REQUIRE_FALSE(loaded);
    CHECK(loaded.error().message() == "conformance: said no");
    CHECK_FALSE(std::filesystem::exists(dir.path() / "plugins"));
}

TEST_CASE("a_library_replaced_after_its_qualification_is_refused_and_kept_out") {
    test::TempDir dir;
    auto db = store::Database::open(dir.path() / "aicache.db");
    REQUIRE(db);
    const std::filesystem::path file = dir.path() / "versioned.so";
    std::filesystem::copy_file(v1(), file);
    // The qualifier passes v1's bytes, then the file becomes v2 before the host copies it in.
    loader::PluginHost host(**db, dir.path() / "plugins", [&](const std::filesystem::path &checked) -> Expected<std::string> {
        auto bytes = read_file(checked);
        if (!bytes) return bytes.error();
        std::filesystem::copy_file(v2(), checked, std::filesystem::copy_options::overwrite_existing);
        return sha256_hex(*bytes);
    });
    auto loaded = host.load(file, "alice");
    REQUIRE_FALSE(loaded);
    CHECK(loaded.error().code() == Errc::busy);
    CHECK(loaded.error().message().find("changed between its qualification and its loading") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dir.path() / "plugins"));
    auto active = host.versions().active("versioned");
    REQUIRE(active);
    CHECK_FALSE(*active);
}
