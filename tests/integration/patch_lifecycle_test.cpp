// The patch lifecycle through the real binary on a real data directory: submit (validated,
// compiled and trialled in the sandbox), reject by rule, M-of-N signed approvals from trusted
// operators only, approval by rule, and an audit log whose chain and signatures verify, and
// which names the first row someone altered.
#include "test_support.hpp"

#include <doctest/doctest.h>

using namespace aicache;

namespace {

struct Lab {
    test::TempDir dir;
    std::string data() const { return (dir.path() / "data").string(); }
    std::string keys() const { return (dir.path() / "keys").string(); }
    sandbox::Result run(std::vector<std::string> args) const {
        args.insert(args.begin() + 1, "--data=" + data());
        return test::run_aicache(args, std::chrono::seconds(120));
    }
    std::string fixture(const std::string &name) const { return (test::source_dir() / "tests" / "fixtures" / "patches" / name).string(); }
    sandbox::Result sql(const std::string &statement) const {
        sandbox::Limits limits;
        return sandbox::run({"/usr/bin/sqlite3", data() + "/aicache.db", statement}, limits);
    }
};

} // namespace

TEST_CASE("a patch goes from submit to approved with two signed approvals, and the audit log verifies") {
    Lab lab;
    for (const char *name : {"alice", "bob", "mallory"})
        REQUIRE(test::run_aicache({"operator", "keygen", "--name", name, "--dir", lab.keys()}).outcome == sandbox::Outcome::ok);
    REQUIRE(lab.run({"operator", "trust", lab.keys() + "/alice.pub"}).outcome == sandbox::Outcome::ok);
    REQUIRE(lab.run({"operator", "trust", lab.keys() + "/bob.pub"}).outcome == sandbox::Outcome::ok);

    sandbox::Result submitted = lab.run({"patch", "submit", lab.fixture("good_fifo.cpp"), "--target", "fifo", "--note", "fifo, as a patch"});
    INFO(submitted.out << submitted.err);
    REQUIRE(submitted.outcome == sandbox::Outcome::ok);
    CHECK(submitted.out.find("patch #1 (good_fifo.cpp for fifo): evaluated") != std::string::npos);
    sandbox::Result hostile = lab.run({"patch", "submit", lab.fixture("call_system.cpp"), "--target", "fifo"});
    CHECK(hostile.exit_code == 1);
    CHECK(hostile.out.find("rejected") != std::string::npos);
    CHECK(hostile.out.find("[call] uses `system`") != std::string::npos);

    // Mallory's key is well-formed but not trusted here; a rejected patch cannot be approved.
    sandbox::Result untrusted = lab.run({"patch", "approve", "1", "--key", lab.keys() + "/mallory.key"});
    CHECK(untrusted.exit_code != 0);
    CHECK(untrusted.err.find("not trusted") != std::string::npos);
    CHECK(lab.run({"patch", "approve", "2", "--key", lab.keys() + "/alice.key"}).exit_code != 0);

    sandbox::Result first = lab.run({"patch", "approve", "1", "--key", lab.keys() + "/alice.key", "--required", "2"});
    CHECK(first.out.find("now evaluated") != std::string::npos);
    sandbox::Result second = lab.run({"patch", "approve", "1", "--key", lab.keys() + "/bob.key", "--required", "2", "--why", "same hits as fifo"});
    CHECK(second.out.find("now approved") != std::string::npos);
    sandbox::Result shown = lab.run({"patch", "show", "1"});
    CHECK(shown.out.find("approve by bob") != std::string::npos);
    CHECK(shown.out.find("+0.00 points") != std::string::npos);

    sandbox::Result verified = lab.run({"audit", "verify"});
    INFO(verified.out << verified.err);
    CHECK(verified.outcome == sandbox::Outcome::ok);
    CHECK(verified.out.find("2 operator signatures verified") != std::string::npos);

    // Updates are refused outright; someone who drops the guard still breaks the chain.
    CHECK(lab.sql("UPDATE audit_log SET actor = 'eve' WHERE seq = 4;").exit_code != 0);
    REQUIRE(lab.sql("DROP TRIGGER audit_log_no_update; UPDATE audit_log SET details = '{}' WHERE seq = 4;").outcome == sandbox::Outcome::ok);
    sandbox::Result broken = lab.run({"audit", "verify"});
    CHECK(broken.exit_code == 1);
    CHECK(broken.out.find("BROKEN at row 4") != std::string::npos);
}

TEST_CASE("a forged operator signature and a deleted audit row are both found") {
    Lab lab;
    REQUIRE(test::run_aicache({"operator", "keygen", "--name", "alice", "--dir", lab.keys()}).outcome == sandbox::Outcome::ok);
    REQUIRE(lab.run({"operator", "trust", lab.keys() + "/alice.pub"}).outcome == sandbox::Outcome::ok);
    REQUIRE(lab.run({"patch", "submit", lab.fixture("good_fifo.cpp"), "--target", "fifo"}).outcome == sandbox::Outcome::ok);
    REQUIRE(lab.run({"patch", "reject", "1", "--key", lab.keys() + "/alice.key", "--why", "not needed"}).outcome == sandbox::Outcome::ok);
    auto rows = lab.sql("SELECT seq FROM audit_log WHERE action = 'reject' AND signature <> '';");
    const std::string seq = rows.out.substr(0, rows.out.find('\n'));
    REQUIRE_FALSE(seq.empty());
    REQUIRE(lab.sql("DROP TRIGGER audit_log_no_update; UPDATE audit_log SET signature = (CASE WHEN substr(signature, 1, 1) = '0' THEN '1' ELSE '0' END) || substr(signature, 2) "
                    "WHERE seq = " + seq + ";").outcome == sandbox::Outcome::ok);
    sandbox::Result forged = lab.run({"audit", "verify"});
    CHECK(forged.exit_code == 1);
    CHECK(forged.out.find("signature does not verify") != std::string::npos);

    REQUIRE(lab.sql("DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE seq = 2;").outcome == sandbox::Outcome::ok);
    sandbox::Result missing = lab.run({"audit", "verify"});
    CHECK(missing.exit_code == 1);
    CHECK(missing.out.find("BROKEN at row 3") != std::string::npos);
}

TEST_CASE("a patch that matches its target within the margin is approved by rule") {
    Lab lab;
    sandbox::Result submitted = lab.run({"patch", "submit", lab.fixture("good_fifo.cpp"), "--target", "fifo", "--auto-approve-margin", "0"});
    INFO(submitted.out << submitted.err);
    CHECK(submitted.out.find("): approved") != std::string::npos);
    sandbox::Result log = lab.run({"audit", "log"});
    CHECK(log.out.find("\"by\":\"rule\"") != std::string::npos);
}

TEST_CASE("a generated SLRU patch beats LRU in its trial and is approved by rule, and bad parameters are refused") {
    Lab lab;
    const std::string file = (lab.dir.path() / "slru.cpp").string();
    sandbox::Result generated = test::run_aicache({"patch", "generate", "slru", "--set", "protected_share=0.8", "--set", "promote_hits=1", "-o", file});
    INFO(generated.out << generated.err);
    REQUIRE(generated.outcome == sandbox::Outcome::ok);
    sandbox::Result submitted = lab.run({"patch", "submit", file, "--target", "lru", "--auto-approve-margin", "1"});
    INFO(submitted.out << submitted.err);
    CHECK(submitted.out.find("patch #1 (slru.cpp for lru): approved") != std::string::npos);

    sandbox::Result out_of_range = test::run_aicache({"patch", "generate", "slru", "--set", "protected_share=2"});
    CHECK(out_of_range.exit_code != 0);
    CHECK(out_of_range.err.find("must lie in [0.05, 0.95]") != std::string::npos);
    sandbox::Result not_integer = test::run_aicache({"patch", "generate", "slru", "--set", "promote_hits=1.5"});
    CHECK(not_integer.err.find("must be an integer") != std::string::npos);
    sandbox::Result unknown = test::run_aicache({"patch", "generate", "slru", "--set", "window=3"});
    CHECK(unknown.err.find("no parameter window") != std::string::npos);
}
