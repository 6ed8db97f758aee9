// The patch rules, checked on clang's AST of the patch (jit-internal: LLVM types allowed here).
// Only code spelled in the patch itself is judged; the SDK and the standard headers it may
// include are trusted, which is why the headers are allowlisted.
#pragma once

#include "aicache/jit/allowlist.hpp"
#include "aicache/jit/report.hpp"

#include <clang/Frontend/FrontendAction.h>

#include <memory>
#include <vector>

namespace aicache::jit {

// A syntax-only action that appends a Finding for every broken rule to `findings`.
std::unique_ptr<clang::FrontendAction> make_validate_action(const Allowlist &allowlist, std::vector<Finding> &findings);
// The same checks run beside code generation in one parse: the object is kept only when
// `findings` stays empty. `validate_ms` receives the time the AST checks took.
std::unique_ptr<clang::FrontendAction> make_validate_and_emit_action(const Allowlist &allowlist, std::vector<Finding> &findings,
                                                                     double &validate_ms);

} // namespace aicache::jit
