// What the optimizer and learning-cycle integration tests share: a scratch data directory and the
// real binary run against it.
#pragma once

#include "test_support.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace aicache::test {

struct Lab {
    TempDir dir;
    std::string data() const { return (dir.path() / "data").string(); }
    sandbox::Result run(std::vector<std::string> args) const {
        args.insert(args.begin() + 1, "--data=" + data());
        return run_aicache(args, std::chrono::seconds(240));
    }
    std::string fixture(const std::string &name) const { return (source_dir() / "tests" / "fixtures" / "patches" / name).string(); }
};

inline nlohmann::json parse(const sandbox::Result &r) {
    nlohmann::json out = nlohmann::json::parse(r.out, nullptr, false);
    REQUIRE_MESSAGE(!out.is_discarded(), r.out << r.err);
    return out;
}

// A key trace where W-TinyLFU's window matters: a hot set reused at short distance, with scans.
inline std::filesystem::path write_scan_trace(const std::filesystem::path &file) {
    std::ofstream out(file);
    for (int round = 0; round < 60; ++round) {
        for (int i = 0; i < 40; ++i) out << (i * 7 + round) % 50 << "\n"; // hot, recently reused
        for (int i = 0; i < 60; ++i) out << 1000 + round * 60 + i << "\n"; // a scan seen once
    }
    return file;
}

} // namespace aicache::test
