// Installing patches into a running host: an approved patch runs on a canary share of the
// shards, is promoted when live traffic agrees, survives a restart, and rolls back on command; a
// patch that passed every check but hurts live traffic is rolled back by the canary on its own.
#include "server/control_socket.hpp"
#include "test_support.hpp"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <random>

using namespace aicache;

namespace {

struct Host {
    test::TempDir dir;
    std::filesystem::path data = dir.path() / "data";
    std::filesystem::path keys = dir.path() / "keys";
    std::unique_ptr<test::Background> process;

    // extra: e.g. a plugin directory and another policy slot.
    void start(std::vector<std::string> extra = {"--policy", "fifo"}) {
        std::vector<std::string> argv{test::aicache_exe().string(), "--log=info", "serve", "--data", data.string(), "--capacity",
                                      "64KiB", "--shards", "4", "--listen", "127.0.0.1:0", "--no-watch"};
        argv.insert(argv.end(), extra.begin(), extra.end());
        process = std::make_unique<test::Background>(argv, dir.path() / "serve.log");
        bool up = test::eventually([&] { return request({{"op", "ping"}}).has_value(); }, std::chrono::seconds(60));
        REQUIRE_MESSAGE(up, "host did not start; log: " << log());
    }
    void stop() { process.reset(); }
    Expected<std::string> request(const nlohmann::json &r) const { return server::control_request(data / "control.sock", r); }
    sandbox::Result run(std::vector<std::string> args) const {
        args.insert(args.begin() + 1, "--data=" + data.string());
        return test::run_aicache(args, std::chrono::seconds(120));
    }
    std::string log() const {
        std::ifstream in(dir.path() / "serve.log");
        return std::string(std::istreambuf_iterator<char>(in), {});
    }
    // Skewed traffic through the host's cache API: a miss is followed by storing the answer.
    // `offset` moves the popular questions to new keys (traffic that drifts).
    void drive(int requests, uint64_t seed, int offset = 0) const {
        std::mt19937_64 rng(seed);
        std::geometric_distribution<int> popularity(0.01);
        for (int i = 0; i < requests; ++i) {
            const std::string key = "question-" + std::to_string(offset + popularity(rng));
            auto got = request({{"op", "cache.get"}, {"key", key}});
            REQUIRE(got);
            if (got->find("\"hit\":true") == std::string::npos)
                REQUIRE(request({{"op", "cache.put"}, {"key", key}, {"value_b64", "YW5zd2Vy"}, {"tenant", "t"}, {"kind", "exec"}, {"cost", 10}, {"ttl", 0}}));
        }
    }
    nlohmann::json status() const {
        auto answer = request({{"op", "patch.status"}});
        REQUIRE(answer);
        return nlohmann::json::parse(*answer);
    }
    std::string state(int id) const {
        sandbox::Result shown = run({"patch", "show", std::to_string(id), "--json"});
        auto j = nlohmann::json::parse(shown.out, nullptr, false);
        return j.is_discarded() ? "?" : j.value("state", "?");
    }
    std::string fixture(const std::string &relative) const { return (test::source_dir() / "tests" / "fixtures" / relative).string(); }
};

} // namespace

TEST_CASE("an approved patch goes through canary to every shard, survives a restart, and rolls back on command") {
    Host host;
    sandbox::Result submitted = host.run({"patch", "submit", host.fixture("patches/good_fifo.cpp"), "--target", "fifo", "--auto-approve-margin", "0"});
    INFO(submitted.out << submitted.err);
    REQUIRE(host.state(1) == "approved");
    host.start();
    sandbox::Result installed = host.run({"patch", "install", "1", "--window", "200", "--margin", "5"});
    INFO(installed.out << installed.err << host.log());
    REQUIRE(installed.outcome == sandbox::Outcome::ok);
    CHECK(host.state(1) == "canary");
    // One canary at a time: new parameters wait, and the client is told it is busy, not refused.
    auto busy = host.request({{"op", "parameters.apply"}, {"parameters", nlohmann::json::object()}});
    REQUIRE_FALSE(busy);
    CHECK(busy.error().code() == Errc::busy);
    CHECK(busy.error().message().find("patch #1 is on canary") != std::string::npos);
    host.drive(3000, 1);
    REQUIRE(test::eventually([&] { return host.state(1) == "active"; }, std::chrono::seconds(10)));
    CHECK(host.status().value("active_patch", 0) == 1);

    host.stop();
    host.start();
    CHECK(host.status().value("active_patch", 0) == 1); // put back on every shard at start
    host.drive(200, 2);

    sandbox::Result rolled = host.run({"patch", "rollback", "1"});
    INFO(rolled.out << rolled.err);
    CHECK(rolled.out.find("fifo 1.0.0") != std::string::npos);
    CHECK(host.state(1) == "retired");
    CHECK(host.status().value("active_patch", -1) == 0);
    host.drive(200, 3); // still serving
    CHECK(host.run({"audit", "verify"}).outcome == sandbox::Outcome::ok);
}

TEST_CASE("a plugin version loaded into the patch's slot supersedes the installed patch") {
    Host host;
    // The slot runs the `versioned` fixture (a FIFO), so a second build of it can be loaded later.
    const auto plugins = host.dir.path() / "plugins-dir";
    std::filesystem::create_directories(plugins);
    std::filesystem::copy_file(test::build_dir() / "fixtures" / "v1" / "versioned.so", plugins / "versioned.so");
    REQUIRE(host.run({"patch", "submit", host.fixture("patches/good_fifo.cpp"), "--target", "versioned", "--against", "fifo",
                      "--auto-approve-margin", "0"})
                .outcome == sandbox::Outcome::ok);
    host.start({"--policy", "versioned", "--plugins", plugins.string()});
    REQUIRE(host.run({"patch", "install", "1", "--window", "200", "--margin", "5"}).outcome == sandbox::Outcome::ok);
    host.drive(3000, 9);
    REQUIRE(test::eventually([&] { return host.state(1) == "active"; }, std::chrono::seconds(10)));
    sandbox::Result loaded = host.run({"plugin", "load", (test::build_dir() / "fixtures" / "v2" / "versioned.so").string()});
    INFO(loaded.out << loaded.err << host.log());
    REQUIRE(loaded.outcome == sandbox::Outcome::ok);
    CHECK(host.state(1) == "retired");
    CHECK(host.status().value("active_patch", -1) == 0);
    CHECK(host.run({"audit", "log"}).out.find("superseded") != std::string::npos);
    host.drive(100, 10);
}

TEST_CASE("a patch that hurts live traffic is rolled back by its canary") {
    Host host;
    REQUIRE(test::run_aicache({"operator", "keygen", "--name", "alice", "--dir", host.keys.string()}).outcome == sandbox::Outcome::ok);
    REQUIRE(host.run({"operator", "trust", (host.keys / "alice.pub").string()}).outcome == sandbox::Outcome::ok);
    sandbox::Result submitted = host.run({"patch", "submit", host.fixture("canary/admits_nothing.cpp"), "--target", "fifo"});
    INFO(submitted.out << submitted.err);
    REQUIRE(host.state(1) == "evaluated"); // it passed every check; its trial figures were poor
    REQUIRE(host.run({"patch", "approve", "1", "--key", (host.keys / "alice.key").string(), "--why", "a mistake"}).outcome == sandbox::Outcome::ok);
    host.start();
    host.drive(500, 4); // warm the cache first, so the canary has something to lose
    REQUIRE(host.run({"patch", "install", "1", "--window", "200", "--margin", "5"}).outcome == sandbox::Outcome::ok);
    host.drive(3000, 5, 100000); // new questions: only a policy that admits them can hit
    INFO(host.log());
    REQUIRE(test::eventually([&] { return host.state(1) == "retired"; }, std::chrono::seconds(10)));
    CHECK(host.status().value("last_event", std::string()).find("rolled back") != std::string::npos);
    sandbox::Result audit = host.run({"audit", "log"});
    CHECK(audit.out.find("canary-rollback") != std::string::npos);
    host.drive(100, 6); // the host kept serving
}

TEST_CASE("the host keeps serving while hostile patches are submitted and crash, spin or explode in their sandboxes") {
    Host host;
    host.start();
    host.drive(300, 7);
    for (const char *hostile : {"patches/trial_stack_overflow.cpp", "patches/trial_infinite_loop.cpp", "patches/call_system.cpp",
                                "patches/bomb_macro_explosion.cpp"}) {
        sandbox::Result submitted =
            host.run({"patch", "submit", host.fixture(hostile), "--target", "fifo", "--memory", "1GiB", "--cpu-seconds", "10", "--trial-cpu-seconds", "3"});
        INFO(hostile << ": " << submitted.out << submitted.err);
        CHECK(submitted.exit_code == 1);
        CHECK(submitted.out.find("rejected") != std::string::npos);
        host.drive(100, 8); // answered between every attempt
    }
    CHECK(host.process->running());
}

TEST_CASE("a policy swap promoted by its canary supersedes the installed patch") {
    Host host;
    REQUIRE(host.run({"patch", "submit", host.fixture("patches/good_fifo.cpp"), "--target", "fifo", "--auto-approve-margin", "0"}).outcome ==
            sandbox::Outcome::ok);
    host.start();
    REQUIRE(host.run({"patch", "install", "1", "--window", "200", "--margin", "5"}).outcome == sandbox::Outcome::ok);
    host.drive(3000, 11);
    REQUIRE(test::eventually([&] { return host.state(1) == "active"; }, std::chrono::seconds(10)));
    // An operator's swap to LRU, held to no margin: it is promoted after its window.
    auto applied = host.request({{"op", "parameters.apply"}, {"policy", "lru"}, {"window", 200}, {"margin", 100}, {"who", "an operator"}});
    REQUIRE_MESSAGE(applied, applied.error().message());
    host.drive(3000, 12);
    auto serving = [&] { return nlohmann::json::parse(*host.request({{"op", "parameters.status"}})).value("serving", std::string()); };
    REQUIRE(test::eventually([&] { return serving() == "lru"; }, std::chrono::seconds(10)));
    CHECK(host.state(1) == "retired");
    CHECK(host.status().value("active_patch", -1) == 0);
    CHECK(host.run({"audit", "log"}).out.find("superseded") != std::string::npos);
    host.drive(100, 13);
}
