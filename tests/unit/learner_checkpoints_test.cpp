// The knowledge repository's learner checkpoints: bytes content-addressed and hash-checked on
// read, one active per learner, rollback by activating another, all surviving a reopen.
#include "core/files.hpp"
#include "store/database.hpp"
#include "store/learner_checkpoints.hpp"
#include "test_support.hpp"

#include <doctest/doctest.h>

#include <fstream>

using namespace aicache;

namespace {
store::CheckpointRecord record_of(const std::string &learner, std::optional<int64_t> parent = std::nullopt) {
    store::CheckpointRecord r;
    r.learner = learner;
    r.plugin_version = "1.0.0";
    r.plugin_sha256 = "abc";
    r.state_format = "encoder/1";
    r.parent_id = parent;
    r.created_by = "test";
    r.metrics = R"({"after": 0.5})";
    return r;
}
} // namespace

TEST_CASE("learner checkpoints are kept by content, one is active per learner, and a damaged one is refused on read") {
    test::TempDir dir;
    int64_t first = 0, second = 0;
    std::string second_sha;
    {
        auto db = store::Database::open(dir.path() / "aicache.db");
        REQUIRE(db);
        store::LearnerCheckpoints checkpoints(**db, dir.path() / "checkpoints");
        auto none = checkpoints.active("encoder");
        REQUIRE(none);
        CHECK_FALSE(*none);

        auto a = checkpoints.add(record_of("encoder"), "weights one");
        REQUIRE(a);
        auto b = checkpoints.add(record_of("encoder", a->id), "weights two");
        REQUIRE(b);
        auto other = checkpoints.add(record_of("other"), "weights one"); // same bytes: one file
        REQUIRE(other);
        first = a->id, second = b->id, second_sha = b->sha256;
        CHECK(a->sha256 == other->sha256);
        CHECK(a->size_bytes == 11);
        CHECK(std::filesystem::exists(checkpoints.file_of(a->sha256)));

        REQUIRE(checkpoints.activate("encoder", second));
        auto wrong = checkpoints.activate("encoder", other->id);
        CHECK_FALSE(wrong);
        CHECK(wrong.message().find("other's") != std::string::npos);
        CHECK_FALSE(checkpoints.activate("encoder", 999));
        auto listed = checkpoints.list("encoder");
        REQUIRE(listed);
        REQUIRE(listed->size() == 2);
        CHECK(listed->front().id == second); // newest first
        CHECK(listed->front().active);
        CHECK(listed->front().parent_id == first);
        CHECK_FALSE(listed->back().active);
    }
    {
        // Reopened: the active one and its bytes come back; rollback is activating the older one.
        auto db = store::Database::open(dir.path() / "aicache.db");
        REQUIRE(db);
        store::LearnerCheckpoints checkpoints(**db, dir.path() / "checkpoints");
        auto active = checkpoints.active("encoder");
        REQUIRE(active);
        REQUIRE(*active);
        CHECK((*active)->id == second);
        auto bytes = checkpoints.read(**active);
        REQUIRE(bytes);
        CHECK(*bytes == "weights two");
        REQUIRE(checkpoints.activate("encoder", first));
        CHECK((*checkpoints.active("encoder"))->id == first);

        // A byte changed on disk: refused, with the way out named.
        { std::ofstream(checkpoints.file_of(second_sha), std::ios::binary) << "weights twO"; }
        auto damaged = checkpoints.read(**checkpoints.find(second));
        REQUIRE_FALSE(damaged);
        CHECK(damaged.error().code() == Errc::corrupt);
        CHECK(damaged.error().message().find("rollback") != std::string::npos);
        std::filesystem::remove(checkpoints.file_of(second_sha));
        CHECK_FALSE(checkpoints.read(**checkpoints.find(second)));
    }
}

TEST_CASE("learner gc deletes old checkpoints' bytes but keeps the active one, the newest, shared files and every record") {
    test::TempDir dir;
    auto db = store::Database::open(dir.path() / "aicache.db");
    REQUIRE(db);
    store::LearnerCheckpoints checkpoints(**db, dir.path() / "checkpoints");
    std::vector<store::CheckpointRecord> made;
    for (const char *bytes : {"one", "two", "three", "four", "one"}) made.push_back(*checkpoints.add(record_of("encoder"), bytes));
    auto other = checkpoints.add(record_of("other"), "two"); // another learner's, sharing #2's bytes
    REQUIRE(other);
    REQUIRE(checkpoints.activate("encoder", made[1].id));

    auto pruned = checkpoints.prune("encoder", 1);
    REQUIRE(pruned);
    // Kept: #5 (newest), #2 (active). Pruned: #4, #3, #1; #1's file is #5's too, #2's is kept.
    CHECK(pruned->ids == std::vector<int64_t>{made[3].id, made[2].id, made[0].id});
    CHECK(pruned->bytes_freed == std::string("four").size() + std::string("three").size());
    auto listed = checkpoints.list("encoder");
    REQUIRE(listed->size() == 5); // the history stays
    auto third = checkpoints.find(made[2].id);
    REQUIRE(third);
    CHECK_FALSE((*third)->pruned_at.empty());
    auto gone = checkpoints.read(**third);
    REQUIRE_FALSE(gone);
    CHECK(gone.error().message().find("learner gc") != std::string::npos);
    CHECK(checkpoints.read(**checkpoints.find(made[4].id)));
    CHECK(checkpoints.read(**checkpoints.find(made[1].id)));
    CHECK(checkpoints.read(**checkpoints.find(other->id)));
    // Again: nothing more to prune.
    CHECK(checkpoints.prune("encoder", 1)->ids.empty());
}
