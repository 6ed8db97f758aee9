// The jit worker's lockdown holds: once it has its headers in memory, opening a file or
// starting a program kills it (a seccomp violation), and a worker that spins is stopped by its
// CPU limit. The host sees each as an outcome and carries on. A compiled patch links into the
// host through ORC with only allowlisted symbols and behaves exactly like its plugin twin.
#include "aicache/jit/patch_linker.hpp"
#include "aicache/jit/worker_client.hpp"
#include "core/files.hpp"
#include "loader/plugin_library.hpp"
#include "patches/trial.hpp"
#include "replay/replay.hpp"
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

namespace {

std::shared_ptr<jit::PatchLinker> linker() {
    auto allowlist = jit::Allowlist::load(options().allowlist);
    REQUIRE(allowlist);
    auto created = jit::PatchLinker::create(*allowlist);
    REQUIRE(created);
    return *created;
}

uint64_t replay_hits(const std::shared_ptr<const loader::PluginLibrary> &policy, const replay::Trace &trace) {
    replay::ReplayOptions o;
    o.capacity_bytes = trace.footprint_bytes / 10;
    auto result = replay::run_replay(trace, policy, o);
    REQUIRE(result);
    CHECK(result->policy_errors == 0);
    return result->hits;
}

} // namespace

TEST_CASE("a compiled patch links into the host through ORC and replays exactly like the FIFO plugin") {
    jit::WorkerResult compiled = jit::run_worker(options(), fifo_patch(), jit::WorkerMode::compile);
    INFO(compiled.reason << compiled.report.compiler_log);
    REQUIRE(compiled.outcome == sandbox::Outcome::ok);
    REQUIRE(compiled.report.compiled);
    auto linked = linker()->link(compiled.report.object, "good_fifo");
    INFO((linked ? std::string() : linked.error().message()));
    REQUIRE(linked);
    auto patch = loader::PluginLibrary::from_entry(reinterpret_cast<aicache_plugin_init_fn>(linked->entry), linked->owner,
                                                   "good_fifo.cpp (patch)", "test");
    INFO((patch ? std::string() : patch.error().message()));
    REQUIRE(patch);
    CHECK((*patch)->facts().name == "patched_fifo");
    auto fifo = loader::PluginLibrary::load_file(test::plugin_path("fifo"));
    REQUIRE(fifo);

    replay::GeneratorOptions g;
    g.requests = 50'000;
    g.objects = 5'000;
    const replay::Trace trace = replay::generate_workload(g);
    const uint64_t hits = replay_hits(*patch, trace);
    CHECK(hits > 0);
    CHECK(hits == replay_hits(*fifo, trace));
}

TEST_CASE("the JIT linker refuses an object that calls system, open and socket, whatever the validator said") {
    auto object = read_file(test::build_dir() / "fixtures" / "objects" / "calls_system.o");
    REQUIRE(object);
    auto linked = linker()->link(*object, "calls_system");
    REQUIRE_FALSE(linked);
    INFO(linked.error().message());
    CHECK(linked.error().message().find("link refused") != std::string::npos);
    for (const char *name : {"system", "open", "socket"}) CHECK(linked.error().message().find(name) != std::string::npos);

    auto garbage = linker()->link("not an object file", "garbage");
    REQUIRE_FALSE(garbage);
    CHECK(garbage.error().message().find("garbage") != std::string::npos);
}

namespace {

patches::TrialOptions trial_options() {
    patches::TrialOptions o = patches::TrialOptions::defaults();
    o.aicache_exe = test::build_dir() / "bin" / "aicache";
    o.allowlist = options().allowlist;
    o.plugin_dir = test::build_dir() / "lib" / "aicache" / "plugins";
    o.generated_requests = 50'000;
    return o;
}

} // namespace

TEST_CASE("the trial links a patch in a locked-down child and measures it against the incumbent") {
    jit::WorkerResult compiled = jit::run_worker(options(), fifo_patch(), jit::WorkerMode::compile);
    REQUIRE(compiled.report.compiled);
    patches::TrialOptions o = trial_options();
    o.incumbent = "fifo";
    patches::TrialResult trial = patches::run_trial(o, compiled.report.object, "good_fifo.cpp");
    INFO(trial.reason << " " << trial.failure);
    REQUIRE(trial.passed());
    CHECK(trial.candidate == "patched_fifo 0.1.0");
    REQUIRE(trial.comparisons.size() == 2);
    for (const auto &c : trial.comparisons) {
        CHECK(c.requests == 50'000);
        CHECK(c.candidate_hits > 0);
        CHECK(c.candidate_hits == c.incumbent_hits); // the same algorithm as the fifo plugin
        CHECK(c.candidate_policy_errors == 0);
    }
}

TEST_CASE("the trial refuses to link a hand-made object that calls system") {
    auto object = read_file(test::build_dir() / "fixtures" / "objects" / "calls_system.o");
    REQUIRE(object);
    patches::TrialResult trial = patches::run_trial(trial_options(), *object, "calls_system.o");
    INFO(trial.reason);
    REQUIRE(trial.outcome == sandbox::Outcome::ok);
    CHECK_FALSE(trial.linked);
    CHECK(trial.failure.find("system") != std::string::npos);
}
