#include "aicache/jit/worker_client.hpp"

#include <aicache/sandbox/channel.hpp>

#include <nlohmann/json.hpp>

#include <csignal>
#include <cstdlib>
#include <unistd.h>

namespace aicache::jit {

WorkerOptions WorkerOptions::beside_executable() {
    std::error_code ec;
    std::filesystem::path bin = std::filesystem::read_symlink("/proc/self/exe", ec).parent_path();
    WorkerOptions options;
    options.worker = bin / "aicache-jit-worker";
    options.allowlist = bin.parent_path() / "share" / "aicache" / "patch-allowlist-abi1.txt";
    options.sdk_include = bin.parent_path() / "include";
    if (const char *cache = std::getenv("XDG_CACHE_HOME"); cache != nullptr && *cache != '\0') options.pch_cache = std::filesystem::path(cache) / "aicache";
    else if (const char *home = std::getenv("HOME"); home != nullptr && *home != '\0') options.pch_cache = std::filesystem::path(home) / ".cache" / "aicache";
    // A compile of a patch that includes <vector> takes a few hundred ms; these bounds stop
    // compile bombs long before they hurt, and leave room on a loaded 2-core machine.
    options.limits.wall_time = std::chrono::seconds(60);
    options.limits.cpu_seconds = 30;
    options.limits.address_space_bytes = 3ull << 30;
    options.limits.max_output_bytes = 64u << 20;
    return options;
}

WorkerResult run_worker(const WorkerOptions &options, const PatchSource &source, WorkerMode mode) {
    WorkerResult result;
    nlohmann::json request = {{"mode", mode == WorkerMode::compile ? "compile" : "validate"},
                              {"file_name", source.file_name},
                              {"source", source.text}};
    std::string input;
    try {
        sandbox::append_frame(input, request.dump());
    } catch (const nlohmann::json::exception &) {
        result.outcome = sandbox::Outcome::failed;
        result.reason = "the patch is not UTF-8 text";
        return result;
    }
    std::vector<std::string> argv = {options.worker.string(),
                                     "--allowlist", options.allowlist.string(),
                                     "--sdk", options.sdk_include.string(),
                                     "--cpu-seconds", std::to_string(options.limits.cpu_seconds),
                                     "--memory-bytes", std::to_string(options.limits.address_space_bytes)};
    if (!options.self_test.empty()) argv.insert(argv.end(), {"--self-test", options.self_test});
    if (!options.pch_cache.empty()) argv.insert(argv.end(), {"--pch-cache", options.pch_cache.string()});
    sandbox::Result ran = sandbox::run(argv, options.limits, input);
    result.outcome = ran.outcome;
    result.reason = ran.reason;
    if (ran.outcome != sandbox::Outcome::ok) {
        // The worker's last words say more than an exit status (clang's fatal errors, setup failures).
        if (std::string said = ran.last_words(2000); !said.empty()) result.reason += "; worker said: " + said;
        return result;
    }
    auto frames = sandbox::split_frames(ran.out);
    if (!frames || frames->size() != 2) {
        result.outcome = sandbox::Outcome::failed;
        result.reason = "the worker's answer is malformed";
        return result;
    }
    try {
        auto answer = nlohmann::json::parse((*frames)[0]);
        CompileReport &r = result.report;
        r.validated = answer.value("validated", false);
        r.compiled = answer.value("compiled", false);
        r.findings = answer.value("findings", std::vector<Finding>{});
        r.compiler_log = answer.value("compiler_log", "");
        r.validate_ms = answer.value("validate_ms", 0.0);
        r.compile_ms = answer.value("compile_ms", 0.0);
        r.object = std::move((*frames)[1]);
    } catch (const nlohmann::json::exception &e) {
        result.outcome = sandbox::Outcome::failed;
        result.reason = std::string("the worker's report is not JSON: ") + e.what();
    }
    return result;
}

} // namespace aicache::jit
