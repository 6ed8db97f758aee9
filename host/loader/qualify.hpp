// Qualification: a new plugin library is loaded and run through its kind's conformance suite in
// a child process first, so a library that crashes, hangs or breaks the contract never gets
// mapped into the serving host.
#pragma once

#include "core/status.hpp"

#include <chrono>
#include <filesystem>
#include <string>

namespace aicache::loader {

struct QualifyOptions {
    std::filesystem::path aicache_exe; // the binary that has the `__qualify` child mode
    std::chrono::milliseconds timeout{10'000};
};

struct Verdict {
    Status status;
    std::string summary;      // one line: "lru 1.0.0 (policy, ABI 1.0): 6 conformance checks passed"
    std::string content_hash; // on a pass: hex SHA-256 of the bytes that passed
};

// Parent side: spawns `aicache __qualify FILE` under limits and reads its verdict.
Verdict qualify_in_child(const std::filesystem::path &file, const QualifyOptions &options);

// Child side: loads the file, runs conformance, prints one JSON line; returns the exit status.
int qualification_child_main(const std::filesystem::path &file, uint64_t cpu_seconds);

// The path of the running executable (/proc/self/exe).
std::filesystem::path current_executable();

} // namespace aicache::loader
