// What the pipeline says about a patch, in plain types: the host, the CLI and the worker share
// these, and none of them needs an LLVM header to do so.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace aicache::jit {

// One reason a patch was refused by the validator, at a place in its source.
struct Finding {
    std::string rule;    // e.g. "include", "call", "global-state", "recursion", "asm", "goto", "entry"
    std::string file;
    unsigned line = 0, column = 0;
    std::string message;
    [[nodiscard]] std::string to_string() const; // "file:line:col: [rule] message"
};

struct CompileReport {
    bool validated = false;        // no findings, and the source parsed
    bool compiled = false;         // an object file was produced
    std::vector<Finding> findings;
    std::string compiler_log;      // clang's diagnostics, as text
    std::string object;            // ELF relocatable object (when compiled)
    double validate_ms = 0, compile_ms = 0;
};

void to_json(nlohmann::json &out, const Finding &finding);
void from_json(const nlohmann::json &in, Finding &finding);

} // namespace aicache::jit
