// Installs a compiled patch into this process with LLVM's ORC LLJIT. Each patch gets its own
// JITDylib and ResourceTracker; the only symbols it can reach outside itself are the allowlist's
// [symbols] (memory, C++ runtime support): an object that names `system` or `open` fails to link,
// whatever the validator said. Releasing the returned owner removes the patch's code.
#pragma once

#include "aicache/jit/allowlist.hpp"
#include "core/status.hpp"

#include <memory>
#include <string>
#include <string_view>

namespace aicache::jit {

struct LinkedCode {
    void *entry = nullptr;       // aicache_plugin_init of the patch
    std::shared_ptr<void> owner; // the code lives while this does
};

class PatchLinker {
public:
    static Expected<std::shared_ptr<PatchLinker>> create(Allowlist allowlist);
    // LLVM's allocation failures (which otherwise abort) call `handler` instead: a sandboxed
    // child reports running out of memory as a verdict, not a crash.
    static void set_out_of_memory_handler(void (*handler)());
    ~PatchLinker();

    // `label` names the patch in errors and in the JIT's symbol tables.
    Expected<LinkedCode> link(std::string_view object, const std::string &label);

private:
    struct Impl;
    explicit PatchLinker(std::shared_ptr<Impl> impl);
    std::shared_ptr<Impl> impl_;
};

} // namespace aicache::jit
