// Reads a plugin file's ELF headers before anything maps it: the reasons a file cannot be a plugin
// (not an ELF, truncated, no entry symbol, GNU-unique symbols) are found here, without dlopen.
#pragma once

#include "core/status.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace aicache::loader {

struct ElfFacts {
    bool has_entry_symbol = false;              // aicache_plugin_init, defined and exported
    std::vector<std::string> gnu_unique_symbols; // each would pin the library in memory forever
};

// `what` names the file in messages. Errors: Errc::corrupt (not an ELF, truncated, wrong machine).
Expected<ElfFacts> inspect_elf(std::string_view bytes, const std::string &what);

// The checks a library must pass before the host maps it.
Status check_loadable(const ElfFacts &facts, const std::string &what);

} // namespace aicache::loader
