// What a patch may use, as data: the headers it may include, the functions it may call or name,
// and the symbols its object file may link against. One file per ABI major version
// (jit/allowlist/policy-abi-1.txt); the validator, the worker and the linker all read the same one.
//
// Format: sections `[headers]`, `[calls]`, `[symbols]`; one entry per line; `#` starts a comment.
// An entry ending in `*` matches every name that starts with what comes before it. Call names are
// qualified with template arguments removed (`std::vector::push_back`); symbols are mangled names.
#pragma once

#include "core/status.hpp"

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace aicache::jit {

class NamePatterns {
public:
    void add(std::string pattern);
    [[nodiscard]] bool matches(std::string_view name) const;
    [[nodiscard]] const std::vector<std::string> &patterns() const { return exact_and_prefixes_; }

private:
    std::vector<std::string> exact_and_prefixes_;
};

struct Allowlist {
    std::vector<std::string> headers; // as spelled in #include <...>
    NamePatterns calls;
    NamePatterns symbols;
    std::string text;                 // the file as read, for content hashes in reports

    static Expected<Allowlist> parse(std::string_view text, const std::string &where);
    static Expected<Allowlist> load(const std::filesystem::path &path);
    [[nodiscard]] bool allows_header(std::string_view spelled) const;
};

} // namespace aicache::jit
