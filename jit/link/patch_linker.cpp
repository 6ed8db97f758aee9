#include "aicache/jit/patch_linker.hpp"

#include <llvm/ExecutionEngine/Orc/ExecutionUtils.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/Support/Error.h>
#include <llvm/Support/ErrorHandling.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/TargetSelect.h>

#include <atomic>
#include <mutex>

namespace aicache::jit {

namespace {
std::string message_of(llvm::Error error) { return llvm::toString(std::move(error)); }
} // namespace

struct PatchLinker::Impl {
    Allowlist allowlist;
    std::unique_ptr<llvm::orc::LLJIT> jit;
    std::mutex mutex; // ORC is thread-safe, but adding and removing patches is rare: keep it simple
    std::atomic<uint64_t> next_id{0};
    std::string reported; // what ORC's session reported during the current link (under `mutex`)
};

void PatchLinker::set_out_of_memory_handler(void (*handler)()) {
    llvm::install_bad_alloc_error_handler([](void *user_data, const char *, bool) { reinterpret_cast<void (*)()>(user_data)(); },
                                          reinterpret_cast<void *>(handler));
}

PatchLinker::PatchLinker(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
PatchLinker::~PatchLinker() = default;

Expected<std::shared_ptr<PatchLinker>> PatchLinker::create(Allowlist allowlist) {
    static std::once_flag targets;
    std::call_once(targets, [] {
        llvm::InitializeNativeTarget();
        llvm::InitializeNativeTargetAsmPrinter();
    });
    auto impl = std::make_shared<Impl>();
    impl->allowlist = std::move(allowlist);
    auto jit = llvm::orc::LLJITBuilder().create();
    if (!jit) return Status(Errc::internal, "ORC LLJIT: " + message_of(jit.takeError()));
    impl->jit = std::move(*jit);
    // ORC reports the reason a link failed (the unresolved symbols) to the session, not to lookup():
    // keep it for the caller's error instead of printing it.
    Impl *raw = impl.get();
    impl->jit->getExecutionSession().setErrorReporter([raw](llvm::Error error) {
        raw->reported += (raw->reported.empty() ? "" : "; ") + message_of(std::move(error));
    });
    return std::shared_ptr<PatchLinker>(new PatchLinker(std::move(impl)));
}

Expected<LinkedCode> PatchLinker::link(std::string_view object, const std::string &label) {
    std::lock_guard lock(impl_->mutex);
    impl_->reported.clear();
    llvm::orc::LLJIT &jit = *impl_->jit;
    // A fresh library per patch: two patches never see (or clash on) each other's symbols.
    auto dylib = jit.createJITDylib(label + "#" + std::to_string(impl_->next_id++));
    if (!dylib) return Status(Errc::internal, label + ": " + message_of(dylib.takeError()));
    const char prefix = jit.getDataLayout().getGlobalPrefix();
    const Allowlist *allowlist = &impl_->allowlist;
    auto process = llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(
        prefix, [allowlist](const llvm::orc::SymbolStringPtr &name) { return allowlist->symbols.matches(std::string_view((*name).data(), (*name).size())); });
    if (!process) return Status(Errc::internal, label + ": " + message_of(process.takeError()));
    dylib->addGenerator(std::move(*process));

    auto tracker = dylib->createResourceTracker();
    auto buffer = llvm::MemoryBuffer::getMemBufferCopy(llvm::StringRef(object.data(), object.size()), label);
    if (llvm::Error added = jit.addObjectFile(tracker, std::move(buffer)))
        return Status(Errc::abi, label + ": not a loadable object: " + message_of(std::move(added)));
    // Looking the entry up links the object: unresolved (non-allowlisted) symbols fail here.
    auto entry = jit.lookup(*dylib, "aicache_plugin_init");
    if (!entry) {
        std::string why = message_of(entry.takeError());
        if (!impl_->reported.empty()) why = impl_->reported; // the cause; ORC's own message lists every symbol it then gave up on
        if (llvm::Error removed = tracker->remove()) llvm::consumeError(std::move(removed));
        return Status(Errc::abi, label + ": link refused: " + why);
    }
    LinkedCode code;
    code.entry = reinterpret_cast<void *>(static_cast<uintptr_t>(entry->getAddress()));
    std::shared_ptr<Impl> keep = impl_;
    code.owner = std::shared_ptr<void>(nullptr, [keep, tracker](void *) {
        std::lock_guard lock(keep->mutex);
        if (llvm::Error removed = tracker->remove()) llvm::consumeError(std::move(removed));
    });
    return code;
}

} // namespace aicache::jit
