// The audit log's chain under the host's real conditions: several threads append through one
// SQLite connection at once (the proxy, the control socket, the canary judge), and every row
// still links to the one before it; a signed row verifies with its operator's key only.
#include "patches/audit.hpp"
#include "test_support.hpp"

#include <doctest/doctest.h>

#include <sodium.h>

#include <thread>

using namespace aicache;

TEST_CASE("threads appending through one connection keep the audit chain whole") {
    REQUIRE(sodium_init() >= 0);
    test::TempDir dir;
    auto db = store::Database::open(dir.path() / "aicache.db");
    REQUIRE(db);
    patches::AuditLog audit(**db);
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < 50; ++i)
                if (!audit.append("thread-" + std::to_string(t), "test", "row", {{"i", i}})) ++failures;
        });
    for (auto &thread : threads) thread.join();
    CHECK(failures == 0);
    auto checked = audit.verify();
    REQUIRE(checked);
    CHECK(checked->ok);
    CHECK(checked->rows == 200);
}

TEST_CASE("a signed audit row verifies with its operator's key, and not after its hash is re-signed by another") {
    REQUIRE(sodium_init() >= 0);
    test::TempDir dir;
    auto db = store::Database::open(dir.path() / "aicache.db");
    REQUIRE(db);
    patches::AuditLog audit(**db);
    auto alice = patches::OperatorKey::generate("alice");
    auto eve = patches::OperatorKey::generate("eve");
    auto row = audit.append("alice", "approve", "patch #1", {{"why", "fine"}}, &alice);
    REQUIRE(row);
    CHECK(patches::verify_signature(alice.public_hex, row->hash, row->signature));
    CHECK_FALSE(patches::verify_signature(eve.public_hex, row->hash, row->signature));
    CHECK_FALSE(patches::verify_signature(alice.public_hex, row->hash, eve.sign(row->hash)));
    auto checked = audit.verify();
    REQUIRE(checked);
    CHECK(checked->signed_rows == 1);
}
