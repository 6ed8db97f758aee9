#include "core/files.hpp"
#include "replay/replay.hpp"
#include "replay/trace.hpp"
#include "test_support.hpp"

#include <doctest/doctest.h>

#include <cstring>

using namespace aicache;

namespace {

std::string oracle_record(uint32_t time, uint64_t id, uint32_t size, int64_t next) {
    std::string r(24, '\0');
    std::memcpy(r.data(), &time, 4);
    std::memcpy(r.data() + 4, &id, 8);
    std::memcpy(r.data() + 12, &size, 4);
    std::memcpy(r.data() + 16, &next, 8);
    return r;
}

} // namespace

TEST_CASE("oracle_general_records_are_read_as_requests") {
    test::TempDir dir;
    auto file = dir.path() / "t.oracleGeneral.bin";
    REQUIRE(write_file_atomic(file, oracle_record(5, 42, 4096, 2) + oracle_record(6, 7, 512, -1) + oracle_record(7, 42, 4096, -1)));
    auto trace = replay::read_trace(file);
    REQUIRE(trace);
    REQUIRE(trace->requests.size() == 3);
    CHECK(trace->requests[0].id == 42);
    CHECK(trace->requests[0].size == 4096);
    CHECK(trace->requests[1].time_us == 6'000'000);
    CHECK(trace->distinct_objects == 2);
    CHECK(trace->footprint_bytes == 4096 + 512);
}

TEST_CASE("a_truncated_binary_trace_names_the_offset") {
    test::TempDir dir;
    auto file = dir.path() / "bad.bin";
    REQUIRE(write_file_atomic(file, oracle_record(1, 1, 1, -1) + std::string(10, 'x')));
    auto trace = replay::read_trace(file);
    REQUIRE_FALSE(trace);
    CHECK(trace.error().message().find("10 stray bytes at offset 24") != std::string::npos);
}

TEST_CASE("key_lines_use_decimal_ids_and_hash_other_keys") {
    test::TempDir dir;
    auto file = dir.path() / "keys.txt";
    REQUIRE(write_file_atomic(file, "17\n18\r\n\nsome/key\n17\n"));
    auto trace = replay::read_trace(file);
    REQUIRE(trace);
    REQUIRE(trace->requests.size() == 4);
    CHECK(trace->requests[0].id == 17);
    CHECK(trace->requests[1].id == 18);
    CHECK(trace->requests[3].id == 17);
    CHECK(trace->distinct_objects == 3);
}

TEST_CASE("sizes_accept_bytes_units_and_footprint_shares") {
    CHECK(*replay::parse_capacity("4096", 0) == 4096);
    CHECK(*replay::parse_capacity("64KiB", 0) == 65536);
    CHECK(*replay::parse_capacity("2M", 0) == 2 * 1024 * 1024);
    CHECK(*replay::parse_capacity("10%", 5000) == 500);
    CHECK_FALSE(replay::parse_capacity("10%", 0));
    CHECK_FALSE(replay::parse_capacity("ten", 0));
    CHECK_FALSE(replay::parse_capacity("-5", 0));
    CHECK_FALSE(replay::parse_capacity("5 parsecs", 0));
}

TEST_CASE("the_generator_is_deterministic_per_seed_and_drifts") {
    replay::GeneratorOptions o;
    o.requests = 20'000;
    o.objects = 5'000;
    o.drift_every = 5'000;
    auto a = replay::generate_workload(o), b = replay::generate_workload(o);
    REQUIRE(a.requests.size() == 20'000);
    bool same = true;
    for (size_t i = 0; i < a.requests.size(); ++i) same = same && a.requests[i].id == b.requests[i].id;
    CHECK(same);
    o.seed = 43;
    auto c = replay::generate_workload(o);
    size_t equal = 0;
    for (size_t i = 0; i < a.requests.size(); ++i) equal += a.requests[i].id == c.requests[i].id;
    CHECK(equal < a.requests.size() / 2);
    // The most requested object of the first window is no longer the most requested in the last.
    auto top = [&](size_t from, size_t to) {
        std::unordered_map<uint64_t, int> counts;
        for (size_t i = from; i < to; ++i) ++counts[a.requests[i].id];
        return std::max_element(counts.begin(), counts.end(), [](auto &x, auto &y) { return x.second < y.second; })->first;
    };
    CHECK(top(0, 5000) != top(15000, 20000));
}

TEST_CASE("the_cloudphysics_trace_reads_with_its_published_counts") {
    auto data = test::shared_data_dir();
    if (data.empty()) {
        MESSAGE("skipped: ../shared/data is absent");
        return;
    }
    auto trace = replay::read_trace(data / "traces" / "cloudphysics.oracleGeneral.bin");
    REQUIRE(trace);
    CHECK(trace->requests.size() == 113'872);
    CHECK(trace->distinct_objects == 48'974);
    auto keys = replay::read_trace(data / "traces" / "cloudphysics.txt");
    REQUIRE(keys);
    CHECK(keys->requests.size() == 113'872);
    CHECK(keys->distinct_objects == 48'974);
}

TEST_CASE("csv_traces_name_their_columns_in_a_header") {
    test::TempDir dir;
    auto file = dir.path() / "t.csv";
    REQUIRE(write_file_atomic(file, "time,obj_id,obj_size,next_access_vtime\n1,42,4096,3\n2,7,512,-1\n3,42,4096,-1\n"));
    auto trace = replay::read_trace(file);
    REQUIRE(trace);
    REQUIRE(trace->requests.size() == 3);
    CHECK(trace->requests[1].id == 7);
    CHECK(trace->requests[1].size == 512);
    CHECK(trace->requests[2].time_us == 3'000'000);
    CHECK(trace->footprint_bytes == 4096 + 512);

    auto reordered = dir.path() / "r.csv";
    REQUIRE(write_file_atomic(reordered, "KEY, Size ,tokens\nq/a,100,900\nq/b,50,10\n"));
    auto r = replay::read_trace(reordered);
    REQUIRE(r);
    CHECK(r->requests[0].cost == 900);
    CHECK(r->requests[1].size == 50);
}

TEST_CASE("bad_csv_traces_name_the_line_and_the_problem") {
    test::TempDir dir;
    auto write = [&](const std::string &text) {
        auto file = dir.path() / "bad.csv";
        REQUIRE(write_file_atomic(file, text));
        return replay::read_trace(file);
    };
    auto unknown = write("time,obj_id,colour\n1,2,red\n");
    REQUIRE_FALSE(unknown);
    CHECK(unknown.error().message().find(":1: unknown column 'colour'") != std::string::npos);
    auto short_row = write("time,obj_id,obj_size\n1,2,3\n4,5\n");
    REQUIRE_FALSE(short_row);
    CHECK(short_row.error().message().find(":3: 2 fields, the header has 3") != std::string::npos);
    auto not_a_number = write("obj_id,obj_size\n1,big\n");
    REQUIRE_FALSE(not_a_number);
    CHECK(not_a_number.error().message().find(":2: column 2 is 'big'") != std::string::npos);
    auto no_id = write("time,obj_size\n1,2\n");
    REQUIRE_FALSE(no_id);
    CHECK(no_id.error().message().find("no object id column") != std::string::npos);
}
