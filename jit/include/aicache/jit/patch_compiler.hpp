// The clang front end as the patch pipeline uses it: prepare once with the real file system
// (the compiler invocation and a snapshot of every header a patch may include, taken with the
// exact flags of the compile), then check and compile patches from memory alone. The worker
// prepares, locks itself down with seccomp, and only then reads a patch.
#pragma once

#include "aicache/jit/allowlist.hpp"
#include "aicache/jit/report.hpp"
#include "core/status.hpp"

#include <filesystem>
#include <memory>
#include <string>

namespace aicache::jit {

struct PatchSource {
    std::string file_name = "patch.cpp"; // as findings and diagnostics name it
    std::string text;
};

class PatchCompiler {
public:
    // sdk_include_dir: the directory holding aicache/abi.h and aicache/sdk/. pch_cache_dir: where the
    // precompiled allowlisted headers are kept between runs (empty: the temporary directory).
    static Expected<std::unique_ptr<PatchCompiler>> prepare(Allowlist allowlist, const std::filesystem::path &sdk_include_dir,
                                                            const std::filesystem::path &pch_cache_dir = {});
    ~PatchCompiler();

    // Validates; when the patch is clean and `emit_object`, compiles it to an object file.
    // Touches no file: everything comes from the snapshot and the source.
    CompileReport run(const PatchSource &source, bool emit_object);

    [[nodiscard]] size_t snapshot_files() const;
    [[nodiscard]] uint64_t snapshot_bytes() const;

private:
    struct Impl;
    explicit PatchCompiler(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

} // namespace aicache::jit
