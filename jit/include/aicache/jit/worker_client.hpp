// The host's side of the jit worker: runs `aicache-jit-worker` in the sandbox (posix_spawn,
// rlimits, wall clock, seccomp applied by the worker to itself), hands it a patch over a pipe and
// reads back the report and the object file. Whatever the patch does to the compiler (a
// template bomb, a crash), the host sees an outcome, never a failure of its own.
#pragma once

#include "aicache/jit/patch_compiler.hpp"
#include "aicache/jit/report.hpp"

#include <aicache/sandbox/runner.hpp>

#include <filesystem>
#include <string>

namespace aicache::jit {

struct WorkerOptions {
    std::filesystem::path worker;      // aicache-jit-worker
    std::filesystem::path allowlist;   // the allowlist file for the ABI
    std::filesystem::path sdk_include; // holds aicache/abi.h and aicache/sdk/
    std::filesystem::path pch_cache;   // precompiled headers kept between runs ($XDG_CACHE_HOME/aicache or ~/.cache/aicache)
    sandbox::Limits limits;
    std::string self_test;             // tests only: a forbidden act the worker performs after lockdown

    // Paths beside the running aicache binary (build tree and install share a layout):
    // <bin>/aicache-jit-worker, <bin>/../share/aicache/patch-allowlist-abi1.txt, <bin>/../include.
    static WorkerOptions beside_executable();
};

enum class WorkerMode { validate, compile };


struct WorkerResult {
    sandbox::Outcome outcome = sandbox::Outcome::setup_error; // ok: the worker finished and `report` is its answer
    std::string reason;                                       // why not, when outcome is not ok
    CompileReport report;
};

WorkerResult run_worker(const WorkerOptions &options, const PatchSource &source, WorkerMode mode);

} // namespace aicache::jit
