// Loads a built-in policy plugin from the build tree for a benchmark.
#pragma once

#include "loader/plugin_library.hpp"

#include <memory>
#include <stdexcept>
#include <string>

namespace aicache::bench {

inline std::shared_ptr<const loader::PluginLibrary> policy(const std::string &name) {
    auto library = loader::PluginLibrary::load_file(std::string(AICACHE_BENCH_BUILD_DIR) + "/lib/aicache/plugins/" + name + ".so");
    if (!library) throw std::runtime_error(library.error().message());
    return *library;
}

} // namespace aicache::bench
