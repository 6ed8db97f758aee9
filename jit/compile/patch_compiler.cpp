#include "aicache/jit/patch_compiler.hpp"

#include "validate/validator.hpp"

#include "core/files.hpp"
#include "core/hash.hpp"

#include <clang/Basic/Version.h>
#include <llvm/Support/Chrono.h>

#include <clang/Basic/Diagnostic.h>
#include <clang/Basic/DiagnosticOptions.h>
#include <clang/CodeGen/CodeGenAction.h>
#include <clang/Frontend/CompilerInstance.h>
#include <clang/Frontend/CompilerInvocation.h>
#include <clang/Frontend/FrontendActions.h>
#include <clang/Frontend/TextDiagnosticPrinter.h>
#include <clang/Frontend/Utils.h>
#include <clang/Lex/PreprocessorOptions.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/VirtualFileSystem.h>
#include <llvm/Support/raw_ostream.h>

#include <algorithm>
#include <chrono>
#include <tuple>
#include <mutex>
#include <set>
#include <unistd.h>

namespace aicache::jit {
namespace {

// Where every compile reads its source from: a path no real file has, so nothing on disk is
// ever confused with the patch.
constexpr const char *kPatchDirectory = "/aicache-patch";
constexpr const char *kClangResourceDir = "/usr/lib/llvm-14/lib/clang/14.0.6";
constexpr const char *kClangDriverPath = "/usr/lib/llvm-14/bin/clang++";

// Remembers every file the preprocessor opened, so exactly those can be copied into memory.
class RecordingFileSystem : public llvm::vfs::ProxyFileSystem {
public:
    explicit RecordingFileSystem(llvm::IntrusiveRefCntPtr<llvm::vfs::FileSystem> real) : ProxyFileSystem(std::move(real)) {}
    llvm::ErrorOr<std::unique_ptr<llvm::vfs::File>> openFileForRead(const llvm::Twine &path) override {
        auto file = ProxyFileSystem::openFileForRead(path);
        if (file) opened.insert(path.str());
        return file;
    }
    std::set<std::string> opened;
};

// Diagnostics as text for the log, and errors as findings (a patch that does not compile is
// refused with clang's own reason and place).
class CollectingDiagnostics : public clang::TextDiagnosticPrinter {
public:
    CollectingDiagnostics(llvm::raw_ostream &log, clang::DiagnosticOptions *options, std::vector<Finding> &findings)
        : TextDiagnosticPrinter(log, options), findings_(findings) {}
    void HandleDiagnostic(clang::DiagnosticsEngine::Level level, const clang::Diagnostic &info) override {
        TextDiagnosticPrinter::HandleDiagnostic(level, info);
        if (level < clang::DiagnosticsEngine::Error || findings_.size() >= 50) return;
        Finding f;
        f.rule = "compile";
        llvm::SmallString<256> text;
        info.FormatDiagnostic(text);
        f.message = text.str().str();
        if (info.hasSourceManager() && info.getLocation().isValid()) {
            const clang::SourceManager &sm = info.getSourceManager();
            clang::PresumedLoc at = sm.getPresumedLoc(sm.getFileLoc(info.getLocation()));
            if (at.isValid()) {
                // The patch by its own name; a header by its full path.
                std::string_view file = at.getFilename();
                const std::string_view prefix = std::string_view(kPatchDirectory);
                if (file.substr(0, prefix.size()) == prefix && file.size() > prefix.size()) file.remove_prefix(prefix.size() + 1);
                f.file = std::string(file);
                f.line = at.getLine();
                f.column = at.getColumn();
            }
        }
        findings_.push_back(std::move(f));
    }

private:
    std::vector<Finding> &findings_;
};

double ms_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

} // namespace

struct PatchCompiler::Impl {
    Allowlist allowlist;
    std::shared_ptr<clang::CompilerInvocation> invocation; // the compile's flags, the input replaced per patch
    llvm::IntrusiveRefCntPtr<llvm::vfs::InMemoryFileSystem> snapshot;
    size_t files = 0;
    uint64_t bytes = 0;

    // Runs `action` on `source` with only the snapshot (and the patch) visible.
    bool execute(clang::FrontendAction &action, const PatchSource &source, std::string &log, std::vector<Finding> &errors,
                 std::unique_ptr<llvm::raw_pwrite_stream> output) {
        auto overlay = llvm::makeIntrusiveRefCnt<llvm::vfs::OverlayFileSystem>(snapshot);
        auto patch_fs = llvm::makeIntrusiveRefCnt<llvm::vfs::InMemoryFileSystem>();
        const std::string path = std::string(kPatchDirectory) + "/" + source.file_name;
        patch_fs->addFile(path, 0, llvm::MemoryBuffer::getMemBufferCopy(source.text, path));
        overlay->pushOverlay(patch_fs);

        auto copy = std::make_shared<clang::CompilerInvocation>(*invocation);
        copy->getFrontendOpts().Inputs = {clang::FrontendInputFile(path, clang::InputKind(clang::Language::CXX))};
        copy->getFrontendOpts().OutputFile = "-";
        clang::CompilerInstance ci;
        ci.setInvocation(copy);
        llvm::raw_string_ostream log_stream(log);
        auto *printer = new CollectingDiagnostics(log_stream, &copy->getDiagnosticOpts(), errors);
        ci.createDiagnostics(printer, /*ShouldOwnClient=*/true);
        ci.createFileManager(overlay);
        if (output) ci.setOutputStream(std::move(output));
        bool ok = ci.ExecuteAction(action);
        log_stream.flush();
        return ok && !ci.getDiagnostics().hasErrorOccurred();
    }
};

PatchCompiler::PatchCompiler(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PatchCompiler::~PatchCompiler() = default;
size_t PatchCompiler::snapshot_files() const { return impl_->files; }
uint64_t PatchCompiler::snapshot_bytes() const { return impl_->bytes; }

namespace {

// Builds the precompiled header of every allowlisted header (or reuses the cached one built with
// the same compiler, flags and header files): parsing the SDK and the standard headers is most of
// a patch's compile time, and every patch would parse the same ones.
Expected<std::string> precompiled_prelude(const clang::CompilerInvocation &base, llvm::IntrusiveRefCntPtr<llvm::vfs::FileSystem> files,
                                          const std::string &prelude_path, const std::string &key, const std::filesystem::path &cache_dir) {
    std::error_code ec;
    std::filesystem::path dir = cache_dir;
    if (!dir.empty()) std::filesystem::create_directories(dir, ec);
    if (dir.empty() || ::access(dir.c_str(), W_OK) != 0) dir = std::filesystem::temp_directory_path(ec); // a read-only home still compiles
    const std::filesystem::path cached = dir / ("prelude-" + key.substr(0, 24) + ".pch");
    if (auto bytes = read_file(cached); bytes && !bytes->empty()) return *bytes;

    const std::filesystem::path building = cached.string() + ".building." + std::to_string(::getpid());
    auto copy = std::make_shared<clang::CompilerInvocation>(base);
    copy->getFrontendOpts().Inputs = {clang::FrontendInputFile(prelude_path, clang::InputKind(clang::Language::CXX))};
    copy->getFrontendOpts().ProgramAction = clang::frontend::GeneratePCH;
    copy->getFrontendOpts().OutputFile = building.string();
    clang::CompilerInstance ci;
    ci.setInvocation(copy);
    std::string log;
    llvm::raw_string_ostream log_stream(log);
    ci.createDiagnostics(new clang::TextDiagnosticPrinter(log_stream, &copy->getDiagnosticOpts()), true);
    ci.createFileManager(files);
    clang::GeneratePCHAction generate;
    bool ok = ci.ExecuteAction(generate) && !ci.getDiagnostics().hasErrorOccurred();
    log_stream.flush();
    auto bytes = ok ? read_file(building) : Expected<std::string>(Status(Errc::internal, "the allowlisted headers do not precompile: " + log));
    if (bytes) std::filesystem::rename(building, cached, ec); // another worker may have won the race: both files are equal
    std::filesystem::remove(building, ec);
    return bytes;
}

} // namespace

Expected<std::unique_ptr<PatchCompiler>> PatchCompiler::prepare(Allowlist allowlist, const std::filesystem::path &sdk_include_dir,
                                                               const std::filesystem::path &pch_cache_dir) {
    static std::once_flag targets;
    std::call_once(targets, [] {
        llvm::InitializeNativeTarget();
        llvm::InitializeNativeTargetAsmPrinter();
    });
    auto impl = std::make_unique<Impl>();
    impl->allowlist = std::move(allowlist);

    // The prelude includes every allowlisted header: preprocessing it with the real file system
    // and the compile's exact flags opens precisely the files any allowed patch can reach.
    std::string prelude;
    for (const auto &header : impl->allowlist.headers) prelude += "#include <" + header + ">\n";
    const std::string prelude_path = std::string(kPatchDirectory) + "/prelude.cpp";
    auto real = llvm::vfs::getRealFileSystem();
    auto recording = llvm::makeIntrusiveRefCnt<RecordingFileSystem>(real);
    auto overlay = llvm::makeIntrusiveRefCnt<llvm::vfs::OverlayFileSystem>(recording);
    auto prelude_fs = llvm::makeIntrusiveRefCnt<llvm::vfs::InMemoryFileSystem>();
    prelude_fs->addFile(prelude_path, 0, llvm::MemoryBuffer::getMemBufferCopy(prelude, prelude_path));
    overlay->pushOverlay(prelude_fs);

    const std::string sdk = sdk_include_dir.string();
    // -fno-use-cxa-atexit is not set: static destructors are refused by the validator instead.
    std::vector<const char *> args = {kClangDriverPath, "-x", "c++", "-std=c++20", "-O2", "-fPIC", "-fexceptions", "-fcxx-exceptions",
                                      "-fvisibility=hidden", "-fno-color-diagnostics", "-ftemplate-depth=256", "-fconstexpr-steps=1000000",
                                      "-resource-dir", kClangResourceDir, "-isystem", sdk.c_str(), "-c", prelude_path.c_str()};
    std::string driver_log;
    llvm::raw_string_ostream driver_stream(driver_log);
    auto options = llvm::makeIntrusiveRefCnt<clang::DiagnosticOptions>();
    auto diagnostics = clang::CompilerInstance::createDiagnostics(options.get(), new clang::TextDiagnosticPrinter(driver_stream, options.get()));
    std::unique_ptr<clang::CompilerInvocation> invocation = clang::createInvocationFromCommandLine(args, diagnostics, overlay);
    driver_stream.flush();
    if (!invocation) return Status(Errc::internal, "clang could not build the patch compile's invocation: " + driver_log);
    invocation->getFrontendOpts().DisableFree = false; // the worker compiles more than once in tests
    // Loading a precompiled header would otherwise look for a global module index on the real disk.
    invocation->getFrontendOpts().UseGlobalModuleIndex = false;
    invocation->getFrontendOpts().GenerateGlobalModuleIndex = false;
    impl->invocation = std::move(invocation);

    {
        auto copy = std::make_shared<clang::CompilerInvocation>(*impl->invocation);
        copy->getFrontendOpts().OutputFile = "-";
        clang::CompilerInstance ci;
        ci.setInvocation(copy);
        std::string log;
        llvm::raw_string_ostream log_stream(log);
        ci.createDiagnostics(new clang::TextDiagnosticPrinter(log_stream, &copy->getDiagnosticOpts()), true);
        ci.createFileManager(overlay);
        llvm::SmallVector<char, 0> discarded_bytes;
        ci.setOutputStream(std::make_unique<llvm::raw_svector_ostream>(discarded_bytes));
        clang::PreprocessOnlyAction preprocess;
        bool ok = ci.ExecuteAction(preprocess) && !ci.getDiagnostics().hasErrorOccurred();
        log_stream.flush();
        if (!ok) return Status(Errc::internal, "the allowlisted headers do not preprocess: " + log);
    }

    impl->snapshot = llvm::makeIntrusiveRefCnt<llvm::vfs::InMemoryFileSystem>();
    // The key of the precompiled header: compiler, flags, and every header's path, size and time.
    std::string key_material = std::string(CLANG_VERSION_STRING) + "\n" + prelude + "\n";
    for (const char *arg : args) key_material += std::string(arg) + "\n";
    for (const std::string &path : recording->opened) {
        auto buffer = real->getBufferForFile(path);
        if (!buffer) continue; // the prelude itself lives in memory only
        auto status = real->status(path);
        time_t modified = status ? llvm::sys::toTimeT(status->getLastModificationTime()) : 0;
        impl->bytes += (*buffer)->getBufferSize();
        ++impl->files;
        key_material += path + " " + std::to_string((*buffer)->getBufferSize()) + " " + std::to_string(modified) + "\n";
        // Real modification times, so the precompiled header's checks of its inputs pass.
        impl->snapshot->addFile(path, modified, std::move(*buffer));
    }
    if (impl->files == 0) return Status(Errc::internal, "the header snapshot is empty");
    impl->snapshot->addFile(prelude_path, 0, llvm::MemoryBuffer::getMemBufferCopy(prelude, prelude_path));

    auto pch = precompiled_prelude(*impl->invocation, impl->snapshot, prelude_path, sha256_hex(key_material), pch_cache_dir);
    if (!pch) return pch.error();
    const std::string pch_path = std::string(kPatchDirectory) + "/prelude.pch";
    impl->bytes += pch->size();
    impl->snapshot->addFile(pch_path, 0, llvm::MemoryBuffer::getMemBufferCopy(*pch, pch_path));
    impl->invocation->getPreprocessorOpts().ImplicitPCHInclude = pch_path;
    return std::unique_ptr<PatchCompiler>(new PatchCompiler(std::move(impl)));
}

CompileReport PatchCompiler::run(const PatchSource &source, bool emit_object) {
    CompileReport report;
    auto started = std::chrono::steady_clock::now();
    std::vector<Finding> compile_errors;
    llvm::SmallVector<char, 0> object;
    double rules_ms = 0;
    // One parse: the rules are judged on the AST, then code is generated from it; the object is
    // kept only if the rules found nothing.
    auto action = emit_object ? make_validate_and_emit_action(impl_->allowlist, report.findings, rules_ms)
                              : make_validate_action(impl_->allowlist, report.findings);
    bool parsed = impl_->execute(*action, source, report.compiler_log, compile_errors,
                                 emit_object ? std::make_unique<llvm::raw_svector_ostream>(object) : nullptr);
    const double total_ms = ms_since(started);
    report.validate_ms = emit_object ? rules_ms : total_ms;
    report.compile_ms = emit_object ? total_ms - rules_ms : 0;
    std::stable_sort(report.findings.begin(), report.findings.end(),
                     [](const Finding &a, const Finding &b) { return std::tie(a.line, a.column) < std::tie(b.line, b.column); });
    // The rules' findings come first; clang's errors follow (a patch with an unknown include
    // also fails to compile, and the rule says why more plainly).
    report.findings.insert(report.findings.end(), compile_errors.begin(), compile_errors.end());
    report.validated = parsed && report.findings.empty();
    auto name_the_patch = [&] {
        const std::string inner = std::string(kPatchDirectory) + "/";
        for (size_t at; (at = report.compiler_log.find(inner)) != std::string::npos;) report.compiler_log.erase(at, inner.size());
    };
    report.compiled = emit_object && report.validated && !object.empty();
    if (report.compiled) report.object.assign(object.begin(), object.end());
    name_the_patch();
    return report;
}

} // namespace aicache::jit
