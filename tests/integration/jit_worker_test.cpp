// The jit worker's lockdown holds: once it has its headers in memory, opening a file or
// starting a program kills it (a seccomp violation), and a worker that spins is stopped by its
// CPU limit. The host sees each as an outcome and carries on.
#include "aicache/jit/worker_client.hpp"
#include "test_support.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <iterator>

using namespace aicache;

namespace {

jit::WorkerOptions options() {
    jit::WorkerOptions o = jit::WorkerOptions::beside_executable();
    o.worker = test::build_dir() / "bin" / "aicache-jit-worker";
    o.allowlist = test::build_dir() / "share" / "aicache" / "patch-allowlist-abi1.txt";
    o.sdk_include = test::build_dir() / "include";
    return o;
}

jit::PatchSource fifo_patch() {
    jit::PatchSource source;
    source.file_name = "good_fifo.cpp";
    std::ifstream in(test::source_dir() / "tests" / "fixtures" / "patches" / "good_fifo.cpp");
    source.text.assign(std::istreambuf_iterator<char>(in), {});
    return source;
}

} // namespace

TEST_CASE("the jit worker compiles a clean patch to an object file under seccomp") {
    jit::WorkerResult result = jit::run_worker(options(), fifo_patch(), jit::WorkerMode::compile);
    INFO(result.reason << result.report.compiler_log);
    REQUIRE(result.outcome == sandbox::Outcome::ok);
    CHECK(result.report.validated);
    CHECK(result.report.compiled);
    REQUIRE(result.report.object.size() > 4);
    CHECK(result.report.object.substr(0, 4) == "\x7f" "ELF");
}

TEST_CASE("a locked-down jit worker that opens a file or starts a program is killed as a violation") {
    for (const char *act : {"open", "exec"}) {
        jit::WorkerOptions o = options();
        o.self_test = act;
        jit::WorkerResult result = jit::run_worker(o, fifo_patch(), jit::WorkerMode::validate);
        INFO(act << ": " << result.reason);
        CHECK(result.outcome == sandbox::Outcome::violation);
    }
}

TEST_CASE("a jit worker that spins is stopped by its CPU limit") {
    jit::WorkerOptions o = options();
    o.self_test = "spin";
    o.limits.cpu_seconds = 1;
    jit::WorkerResult result = jit::run_worker(o, fifo_patch(), jit::WorkerMode::validate);
    INFO(result.reason);
    CHECK(result.outcome == sandbox::Outcome::resource);
}

TEST_CASE("a patch that is not UTF-8 text is refused before any worker starts") {
    jit::PatchSource source = fifo_patch();
    source.text += "\xff\xfe";
    jit::WorkerResult result = jit::run_worker(options(), source, jit::WorkerMode::validate);
    CHECK(result.outcome == sandbox::Outcome::failed);
    CHECK(result.reason.find("UTF-8") != std::string::npos);
}
