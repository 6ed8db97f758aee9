#include "core/files.hpp"
#include "test_support.hpp"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

using namespace aicache;

TEST_CASE("replay_reports_every_policy_and_size_as_json") {
    sandbox::Result r = test::run_aicache({"replay", "--policy", "lru,sieve", "--size", "1%,10%", "--requests", "30000", "--json"});
    INFO(r.out << r.err);
    REQUIRE(r.outcome == sandbox::Outcome::ok);
    auto report = nlohmann::json::parse(r.out);
    REQUIRE(report["results"].size() == 6); // 2 policies x 2 sizes, then Belady at each size
    CHECK(report["results"][4]["policy"] == "belady");
    for (const auto &row : report["results"]) {
        CHECK(row["requests"] == 30000);
        CHECK(row["hits"].get<uint64_t>() > 0);
        CHECK(row["hit_ratio"].get<double>() < 1.0);
        CHECK(row["policy_errors"] == 0);
    }
    // A bigger cache never hits less for LRU (the stack property), and nothing beats the bound.
    CHECK(report["results"][1]["hits"].get<uint64_t>() >= report["results"][0]["hits"].get<uint64_t>());
    for (int i = 0; i < 4; ++i)
        CHECK(report["results"][4 + i % 2]["hits"].get<uint64_t>() >= report["results"][i]["hits"].get<uint64_t>());
    CHECK_FALSE(report["results"][0].contains("chunk_hits"));
}

TEST_CASE("replay_counts_hits_per_chunk_when_asked") {
    sandbox::Result r = test::run_aicache({"replay", "--policy", "lru", "--size", "10%", "--requests", "30000", "--json", "--chunks", "4", "--no-belady"});
    INFO(r.out << r.err);
    REQUIRE(r.outcome == sandbox::Outcome::ok);
    auto row = nlohmann::json::parse(r.out)["results"][0];
    REQUIRE(row["chunk_hits"].size() == 4);
    uint64_t sum = 0;
    for (const auto &hits : row["chunk_hits"]) sum += hits.get<uint64_t>();
    CHECK(sum == row["hits"].get<uint64_t>());
    // A cold cache hits least in its first quarter.
    CHECK(row["chunk_hits"][0].get<uint64_t>() < row["chunk_hits"][3].get<uint64_t>());
}

TEST_CASE("replay_reads_a_trace_file_and_explains_bad_input") {
    test::TempDir dir;
    auto keys = dir.path() / "keys.txt";
    REQUIRE(write_file_atomic(keys, "1\n2\n1\n3\n1\n2\n"));
    sandbox::Result r = test::run_aicache({"replay", keys.string(), "--policy", "lru", "--size", "2", "--json"});
    INFO(r.out << r.err);
    REQUIRE(r.outcome == sandbox::Outcome::ok);
    auto report = nlohmann::json::parse(r.out);
    CHECK(report["results"][0]["hits"] == 2); // 1 hits twice; 2 was evicted by 3

    auto bad = dir.path() / "bad.bin";
    REQUIRE(write_file_atomic(bad, std::string(30, 'x')));
    sandbox::Result e = test::run_aicache({"replay", bad.string(), "--policy", "lru"});
    CHECK(e.outcome == sandbox::Outcome::failed);
    CHECK(e.err.find("6 stray bytes at offset 24") != std::string::npos);

    sandbox::Result unknown = test::run_aicache({"replay", "--policy", "nosuch", "--requests", "100"});
    CHECK(unknown.outcome == sandbox::Outcome::failed);
    CHECK(unknown.err.find("plugins there: arc, canon, encoder, evolve, fifo, gdsf, lecar, lfu, lirs, lru, nas, s3fifo, sieve, threshold, tune, wtinylfu") != std::string::npos);
}

TEST_CASE("every_flag_can_come_from_the_toml_configuration_file") {
    test::TempDir dir;
    auto config = dir.path() / "aicache.toml";
    REQUIRE(write_file_atomic(config, "# replay settings\n[replay]\nrequests = 2000\npolicy = [\"lru\", \"sieve\"]\nsize = [\"5%\"]\n"));
    sandbox::Result r = test::run_aicache({"--config", config.string(), "replay", "--json"});
    INFO(r.out << r.err);
    REQUIRE(r.outcome == sandbox::Outcome::ok);
    auto report = nlohmann::json::parse(r.out);
    REQUIRE(report["results"].size() == 3); // and the Belady row
    CHECK(report["results"][0]["requests"] == 2000);
    CHECK(report["results"][1]["policy"] == "sieve");

    REQUIRE(write_file_atomic(config, "[replay]\nrequestz = 5\n"));
    sandbox::Result unknown = test::run_aicache({"--config", config.string(), "replay"});
    CHECK(unknown.outcome == sandbox::Outcome::failed);
    CHECK(unknown.err.find("replay.requestz") != std::string::npos);

    REQUIRE(write_file_atomic(config, "[replay\n"));
    sandbox::Result broken = test::run_aicache({"--config", config.string(), "replay"});
    CHECK(broken.outcome == sandbox::Outcome::failed);
    CHECK(broken.err.find("line 1") != std::string::npos);
}

TEST_CASE("plot_draws_miss_ratio_curves_with_gnuplot") {
    test::TempDir dir;
    auto svg = dir.path() / "curves.svg";
    sandbox::Result r = test::run_aicache({"replay", "--policy", "lru,arc", "--size", "1%,5%,10%", "--requests", "20000", "--plot", svg.string()});
    INFO(r.out << r.err);
    REQUIRE(r.outcome == sandbox::Outcome::ok);
    auto bytes = read_file(svg);
    REQUIRE(bytes);
    CHECK(bytes->find("<svg") != std::string::npos);
    CHECK(bytes->find("belady") != std::string::npos); // the bound is drawn too
    sandbox::Result bad = test::run_aicache({"replay", "--requests", "100", "--plot", (dir.path() / "curves.gif").string()});
    CHECK(bad.outcome == sandbox::Outcome::failed);
    CHECK(bad.err.find("must end in .svg or .png") != std::string::npos);
}
