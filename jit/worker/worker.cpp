// aicache-jit-worker: validates and compiles one patch, and can be trusted with a hostile one.
// Order matters: limits first, then everything that needs the file system (the allowlist, the
// compiler's invocation, the header snapshot), then the lockdown (descriptors closed, seccomp
// deny-by-default), and only then the patch is read from stdin. The answer goes to stdout as two
// frames: the report (JSON) and the object file.
#include "aicache/jit/patch_compiler.hpp"
#include "aicache/jit/patch_linker.hpp"
#include "aicache/jit/worker_client.hpp"

#include <aicache/sandbox/channel.hpp>
#include <aicache/sandbox/lockdown.hpp>
#include <aicache/sandbox/runner.hpp>

#include <nlohmann/json.hpp>

#include <new>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <unistd.h>

using namespace aicache;

namespace {

int usage_error(const std::string &why) {
    std::fprintf(stderr, "aicache-jit-worker: %s\n", why.c_str());
    return 2;
}

// Tests prove the lockdown holds by asking the worker to break it once locked.
void self_test(const std::string &what) {
    if (what == "open") (void)::open("/etc/hostname", O_RDONLY);
    else if (what == "exec") ::execl("/bin/true", "true", static_cast<char *>(nullptr));
    else if (what == "spin") for (volatile unsigned long i = 0;; i = i + 1) {}
}

} // namespace

int main(int argc, char **argv) {
    sandbox::exit_on_out_of_memory();
    jit::PatchLinker::set_out_of_memory_handler(&sandbox::exit_out_of_memory);
    std::string allowlist_path, sdk, test, pch_cache;
    uint64_t cpu_seconds = 30, memory_bytes = 3ull << 30;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string flag = argv[i], value = argv[i + 1];
        if (flag == "--allowlist") allowlist_path = value;
        else if (flag == "--sdk") sdk = value;
        else if (flag == "--cpu-seconds") cpu_seconds = std::strtoull(value.c_str(), nullptr, 10);
        else if (flag == "--memory-bytes") memory_bytes = std::strtoull(value.c_str(), nullptr, 10);
        else if (flag == "--self-test") test = value;
        else if (flag == "--pch-cache") pch_cache = value;
        else return usage_error("unknown flag " + flag);
    }
    if (allowlist_path.empty() || sdk.empty()) return usage_error("usage: aicache-jit-worker --allowlist FILE --sdk DIR < request");
    if (std::string why = sandbox::apply_limits(cpu_seconds, memory_bytes); !why.empty()) return usage_error(why);

    auto allowlist = jit::Allowlist::load(allowlist_path);
    if (!allowlist) return usage_error(allowlist.error().message());
    auto compiler = jit::PatchCompiler::prepare(std::move(*allowlist), sdk, pch_cache);
    if (!compiler) return usage_error(compiler.error().message());

    if (std::string why = sandbox::close_descriptors_except({0, 1, 2}); !why.empty()) return usage_error(why);
    // isatty probes from LLVM's streams get "not a terminal" instead of a kill.
    if (std::string why = sandbox::SyscallFilter::compute_only().fail("ioctl", ENOTTY).install(); !why.empty()) return usage_error(why);
    if (!test.empty()) self_test(test);

    auto request_bytes = sandbox::read_frame(0, 64u << 20);
    if (!request_bytes) return usage_error("no request on stdin");
    nlohmann::json request = nlohmann::json::parse(*request_bytes, nullptr, false);
    if (request.is_discarded() || !request.is_object()) return usage_error("the request is not a JSON object");
    jit::PatchSource source;
    source.file_name = request.value("file_name", "patch.cpp");
    source.text = request.value("source", "");
    if (source.file_name.empty() || source.file_name.find('/') != std::string::npos) source.file_name = "patch.cpp";
    const bool emit_object = request.value("mode", "validate") == "compile";

    jit::CompileReport report = (*compiler)->run(source, emit_object);
    nlohmann::json answer = {{"validated", report.validated}, {"compiled", report.compiled},    {"findings", report.findings},
                             {"compiler_log", report.compiler_log}, {"validate_ms", report.validate_ms}, {"compile_ms", report.compile_ms},
                             {"snapshot_files", (*compiler)->snapshot_files()}};
    bool written = sandbox::write_frame(1, answer.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)) &&
                   sandbox::write_frame(1, report.object);
    return written ? 0 : 3;
}
