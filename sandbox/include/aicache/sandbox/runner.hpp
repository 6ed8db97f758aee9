// Runs a child program under limits and reports what became of it. The child is started with
// posix_spawn (never a fork of a big, multi-threaded host), its output is captured up to a limit,
// and the outcome is a status plus a reason a person can read.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>
#include <string>
#include <vector>

namespace aicache::sandbox {

struct Limits {
    std::chrono::milliseconds wall_time{10'000};
    uint64_t cpu_seconds = 10;                  // RLIMIT_CPU, applied by the child (apply_limits)
    uint64_t address_space_bytes = 4ull << 30; // RLIMIT_AS
    size_t max_output_bytes = 1 << 20;          // stdout and stderr each; a child that writes more is killed (resource)
};

// A child that runs out of memory under its address-space limit exits with this code (see
// exit_on_out_of_memory in lockdown.hpp); run() reports it as Outcome::resource, not as a failure.
inline constexpr int kExitOutOfMemory = 4;

enum class Outcome {
    ok,          // exited 0
    failed,      // exited non-zero: the child's own verdict
    setup_error, // could not be started
    violation,   // killed for a forbidden system call (SIGSYS)
    timeout,     // ran past the wall-clock limit and was killed
    crashed,     // killed by another signal (SIGSEGV, SIGABRT, ...)
    resource,    // ran out of CPU time or memory
};
const char *to_string(Outcome outcome) noexcept;

struct Result {
    Outcome outcome = Outcome::setup_error;
    int exit_code = -1;
    int signal = 0;
    std::string out; // captured stdout
    std::string err; // captured stderr
    std::string reason;
    [[nodiscard]] std::string to_string() const; // "crashed: killed by SIGABRT"
    // The end of what the child wrote to stderr (its last words explain most failures).
    [[nodiscard]] std::string last_words(size_t max_bytes = 1000) const;
};

// Never throws and never exits: failures to start are Outcome::setup_error. `input` is the
// child's stdin (then end of file); without it stdin is /dev/null.
Result run(const std::vector<std::string> &argv, const Limits &limits, std::optional<std::string_view> input = std::nullopt) noexcept;

// Called by a child on itself, first thing: CPU and address-space rlimits, core dumps off.
// Returns an empty string on success, else the reason.
std::string apply_limits(uint64_t cpu_seconds, uint64_t address_space_bytes) noexcept;

} // namespace aicache::sandbox
