// The trial: a compiled patch is linked and run for the first time in a locked-down child
// (`aicache __trial`), never in the serving host. The child loads what it needs while it still
// may (the allowlist, the incumbent policy, the recorded traffic, the JIT), shuts itself in
// (descriptors closed, seccomp deny-by-default), reads the object from stdin, links it with ORC,
// runs the policy conformance suite, and replays the traffic through candidate and incumbent at
// each cache size. A patch that loops, crashes, exhausts memory or makes a forbidden call ends as
// a sandbox outcome; one that breaks the contract fails conformance; one that runs is measured.
#pragma once

#include "core/status.hpp"
#include "replay/replay.hpp"

#include <aicache/sandbox/runner.hpp>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace aicache::patches {

struct TrialOptions {
    std::filesystem::path aicache_exe;   // the binary with the `__trial` child mode
    std::filesystem::path allowlist;     // [symbols] bound the link
    std::string trace;                   // a trace file or a data directory (request log); empty: the generated workload
    std::string incumbent = "lru";       // policy name in plugin_dir, or a .so path
    std::string incumbent_parameters;    // a JSON object the incumbent runs with (what a host serves); empty: its defaults
    replay::Objective objective = replay::Objective::hits; // what the comparison and the approval rule judge by
    // > 0: the incumbent serves this first share of the trace, then the cache swaps to the
    // candidate (as a host installs a patch: from a warm cache, without the incumbent's state
    // unless both share a state format), and both are measured on the rest only.
    double warm_share = 0;
    std::filesystem::path plugin_dir;
    std::vector<std::string> sizes = {"1%", "10%"};
    uint64_t generated_requests = 200'000;
    uint32_t chunks = 0; // > 0: the candidate's hits are also counted in that many chunks (TrialComparison)
    sandbox::Limits limits;

    // Limits sized for a replay of up to a few million requests on a loaded 2-core machine.
    static TrialOptions defaults();
    static constexpr uint64_t kDefaultCpuSeconds = 60; // defaults()'s, and every --trial-cpu-seconds'

    // More (or less) CPU time for a trial, and wall time to match: twice that, and at least two minutes.
    void allow_cpu_seconds(uint64_t seconds);
};

struct TrialComparison {
    std::string size;
    uint64_t capacity = 0;
    bool objects = false;
    uint64_t requests = 0, candidate_hits = 0, incumbent_hits = 0;
    uint64_t cost_requested = 0, candidate_cost_hits = 0, incumbent_cost_hits = 0;
    uint64_t candidate_policy_errors = 0;
    std::vector<uint64_t> candidate_chunk_hits; // with TrialOptions::chunks
    double candidate_seconds = 0, incumbent_seconds = 0;
    [[nodiscard]] double candidate_hit_ratio() const { return requests ? double(candidate_hits) / double(requests) : 0; }
    [[nodiscard]] double incumbent_hit_ratio() const { return requests ? double(incumbent_hits) / double(requests) : 0; }
    [[nodiscard]] double candidate_cost_hit_ratio() const { return cost_requested ? double(candidate_cost_hits) / double(cost_requested) : 0; }
    [[nodiscard]] double incumbent_cost_hit_ratio() const { return cost_requested ? double(incumbent_cost_hits) / double(cost_requested) : 0; }
};

struct TrialResult {
    sandbox::Outcome outcome = sandbox::Outcome::setup_error; // ok: the child finished and reported
    std::string reason;
    bool linked = false;
    bool conformant = false;
    std::string failure; // link or conformance failure, when the child finished but refused
    std::string candidate; // "name version" from the patch's descriptor
    std::string trace_name;
    double link_ms = 0; // ORC link and ABI negotiation
    uint64_t warm_requests = 0; // served by the incumbent before the swap, not measured
    std::vector<TrialComparison> comparisons;
    [[nodiscard]] bool passed() const { return outcome == sandbox::Outcome::ok && linked && conformant; }
};

TrialResult run_trial(const TrialOptions &options, std::string_view object, const std::string &label);

// A comparison row of a patch's report (candidate_hit_ratio, candidate_cost_hit_ratio, ...): the
// candidate's gain over the incumbent in points, by the report's objective ("hits" when absent).
double gain_points(const nlohmann::json &comparison, const std::string &objective);

// The child's side: `aicache __trial ARGS...` (argv as run_trial builds it).
int trial_child_main(int argc, char **argv);

} // namespace aicache::patches
