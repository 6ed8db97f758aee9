// The request log: records come back exactly as written, files rotate at their size limit, a
// file that is not ours is never appended to, two writers never tear each other's records, and
// a disk that refuses writes costs records, not the host.
#include "learning/request_log.hpp"
#include "replay/trace.hpp"
#include "test_support.hpp"

#include <doctest/doctest.h>

#include <csignal>
#include <fstream>
#include <sys/resource.h>
#include <thread>

using namespace aicache;
using learning::RequestOutcome;
using learning::RequestRecord;

namespace {

RequestRecord record(uint64_t i, RequestOutcome outcome = RequestOutcome::miss) {
    RequestRecord r;
    r.time_us = 1'700'000'000'000'000 + i;
    r.key_hash = 0x9E3779B97F4A7C15ull * (i % 5 + 1);
    r.tenant_hash = 77;
    r.size_bytes = static_cast<uint32_t>(100 + i % 5);
    r.cost_tokens = static_cast<uint32_t>(25 + i % 5);
    r.latency_us = static_cast<uint32_t>(i);
    r.upstream_latency_us = static_cast<uint32_t>(2 * i);
    r.outcome = outcome;
    r.source = learning::RequestSource::exec;
    r.flags = RequestRecord::kStored;
    return r;
}

std::unique_ptr<learning::RequestLog> open_log(const std::filesystem::path &path, uint64_t max_bytes = 64ull << 20) {
    learning::RequestLogOptions options;
    options.path = path;
    options.max_bytes = max_bytes;
    auto log = learning::RequestLog::open(options);
    REQUIRE(log);
    return std::move(log.value());
}

} // namespace

TEST_CASE("request log records read back field by field, and replay keeps only what reached the cache") {
    test::TempDir dir;
    const auto path = dir.path() / "requests.arl";
    {
        auto log = open_log(path);
        for (uint64_t i = 0; i < 10; ++i) log->append(record(i));
        log->append(record(10, RequestOutcome::bypass));
        log->append(record(11, RequestOutcome::error));
        log->append(record(12, RequestOutcome::hit));
    }
    auto records = learning::read_request_log(path);
    REQUIRE(records);
    REQUIRE(records->size() == 13);
    const RequestRecord &r = (*records)[7];
    CHECK(r.time_us == record(7).time_us);
    CHECK(r.key_hash == record(7).key_hash);
    CHECK(r.tenant_hash == 77);
    CHECK(r.size_bytes == 102);
    CHECK(r.cost_tokens == 27);
    CHECK(r.latency_us == 7);
    CHECK(r.upstream_latency_us == 14);
    CHECK(r.source == learning::RequestSource::exec);
    CHECK(r.flags == RequestRecord::kStored);
    CHECK((*records)[12].outcome == RequestOutcome::hit);

    auto trace = replay::read_trace(dir.path()); // a data directory replays its request log
    REQUIRE(trace);
    CHECK(trace->requests.size() == 11); // bypass and error left out
    CHECK(trace->distinct_objects == 5);
    CHECK(trace->requests[3].id == record(3).key_hash);
    CHECK(trace->requests[3].size == 103);
    CHECK(trace->requests[3].cost == 28);
}

TEST_CASE("request logs rotate at their size limit and replay oldest first") {
    test::TempDir dir;
    const auto path = dir.path() / "requests.arl";
    {
        auto log = open_log(path, 16 + 10 * 48); // ten records a file
        for (uint64_t i = 0; i < 35; ++i) {
            log->append(record(i));
            log->flush(); // one write per record, so every rotation point is exercised
        }
        CHECK(log->written() == 35);
        CHECK(log->dropped() == 0);
    }
    auto files = learning::request_log_files(dir.path());
    REQUIRE(files.size() == 4);
    CHECK(files.front().filename() == "requests.3.arl");
    CHECK(files.back().filename() == "requests.arl");
    auto trace = replay::read_trace(dir.path());
    REQUIRE(trace);
    REQUIRE(trace->requests.size() == 35);
    for (uint64_t i = 0; i < 35; ++i) CHECK(trace->requests[i].time_us == record(i).time_us);
}

TEST_CASE("a request log replays in the order the requests arrived, not the order their answers were done") {
    // Two answers on two threads: the one that arrived second was done first and logged first.
    test::TempDir dir;
    const auto path = dir.path() / "requests.arl";
    {
        auto log = open_log(path);
        for (uint64_t i : {0, 2, 1, 3, 5, 4}) log->append(record(i));
    }
    auto trace = replay::read_trace(path);
    REQUIRE(trace);
    REQUIRE(trace->requests.size() == 6);
    for (uint64_t i = 0; i < 6; ++i) {
        CHECK(trace->requests[i].time_us == record(i).time_us);
        CHECK(trace->requests[i].id == record(i).key_hash);
    }
}

TEST_CASE("a file that is not a request log is moved aside, never appended to") {
    test::TempDir dir;
    const auto path = dir.path() / "requests.arl";
    std::ofstream(path) << "someone else's notes\n";
    {
        auto log = open_log(path);
        log->append(record(1));
    }
    auto records = learning::read_request_log(path);
    REQUIRE(records);
    CHECK(records->size() == 1);
    int aside = 0;
    for (const auto &entry : std::filesystem::directory_iterator(dir.path()))
        if (entry.path().filename().string().rfind("requests.arl.unreadable-", 0) == 0) {
            ++aside;
            std::ifstream in(entry.path());
            std::string line;
            std::getline(in, line);
            CHECK(line == "someone else's notes");
        }
    CHECK(aside == 1);
}

TEST_CASE("bad request logs are refused with the offset of the damage") {
    test::TempDir dir;
    const auto path = dir.path() / "requests.arl";
    {
        auto log = open_log(path);
        for (uint64_t i = 0; i < 3; ++i) log->append(record(i));
    }
    std::filesystem::resize_file(path, 16 + 2 * 48 + 5);
    auto truncated = learning::read_request_log(path);
    REQUIRE_FALSE(truncated);
    CHECK(truncated.error().message().find("truncated record at byte offset 112") != std::string::npos);

    std::filesystem::resize_file(path, 16 + 2 * 48);
    {
        std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(8);
        const char version_two[4] = {2, 0, 0, 0};
        f.write(version_two, 4);
    }
    auto newer = learning::read_request_log(path);
    REQUIRE_FALSE(newer);
    CHECK(newer.error().message().find("version 2") != std::string::npos);
}

TEST_CASE("two writers on one request log never tear each other's records") {
    test::TempDir dir;
    const auto path = dir.path() / "requests.arl";
    {
        auto first = open_log(path);
        auto second = open_log(path);
        std::thread a([&] {
            for (uint64_t i = 0; i < 20'000; ++i) first->append(record(i, RequestOutcome::miss));
        });
        std::thread b([&] {
            for (uint64_t i = 0; i < 20'000; ++i) second->append(record(i, RequestOutcome::hit));
        });
        a.join();
        b.join();
        CHECK(first->dropped() + second->dropped() == 0);
    }
    auto records = learning::read_request_log(path);
    REQUIRE(records);
    CHECK(records->size() == 40'000);
    size_t hits = 0;
    for (const auto &r : *records) {
        hits += r.outcome == RequestOutcome::hit;
        CHECK(r.tenant_hash == 77);
    }
    CHECK(hits == 20'000);
}

TEST_CASE("a disk that refuses writes drops records, leaves no torn record, and does not stop the writer") {
    test::TempDir dir;
    const auto path = dir.path() / "requests.arl";
    auto log = open_log(path);
    // RLIMIT_FSIZE stands in for a full disk: writes past it fail with EFBIG (SIGXFSZ ignored).
    auto previous_handler = std::signal(SIGXFSZ, SIG_IGN);
    rlimit saved{};
    ::getrlimit(RLIMIT_FSIZE, &saved);
    rlimit small = saved;
    small.rlim_cur = 16 + 10 * 48 + 20; // room for ten records and part of an eleventh
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
    for (uint64_t i = 0; i < 8; ++i) log->append(record(i));
    log->flush();
    for (uint64_t i = 8; i < 16; ++i) log->append(record(i));
    log->flush(); // crosses the limit mid-batch: the partial write is cut back
    ::setrlimit(RLIMIT_FSIZE, &saved);
    std::signal(SIGXFSZ, previous_handler);
    // (The background writer may have taken a few records of the second batch on its own.)
    const uint64_t written = log->written();
    CHECK(written >= 8);
    CHECK(written <= 10);
    CHECK(written + log->dropped() == 16);
    CHECK(log->dropped() > 0);
    auto records = learning::read_request_log(path);
    REQUIRE(records); // no torn tail
    CHECK(records->size() == written);
    // The disk has room again: the log goes on.
    log->append(record(99));
    log->flush();
    CHECK(log->written() == written + 1);
}
