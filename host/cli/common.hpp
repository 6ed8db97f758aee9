// What every `aicache` command shares: where plugins and data live, and terminal output helpers.
#pragma once

#include "core/status.hpp"
#include "loader/plugin_library.hpp"

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace aicache::cli {

// --plugins, else $AICACHE_PLUGIN_DIR, else <exe dir>/../lib/aicache/plugins.
std::filesystem::path plugin_dir(const std::string &flag);
// --data, else $AICACHE_DATA, else $XDG_DATA_HOME/aicache, else ~/.local/share/aicache.
std::filesystem::path data_dir(const std::string &flag);
// A policy by name from the plugin directory ("lru" -> <dir>/lru.so), or a path to a .so file.
Expected<std::shared_ptr<loader::PluginLibrary>> open_policy(const std::string &name_or_path, const std::filesystem::path &dir);
// A plugin by name or path, qualified in a child (its kind's conformance suite) before this
// process maps it, or found qualified before with the same bytes and binary, and refused unless
// it is of `kind` ("policy", "learner" or "optimizer").
Expected<std::shared_ptr<loader::PluginLibrary>> open_qualified_plugin(const std::string &kind, const std::string &name_or_path,
                                                                       const std::filesystem::path &dir, std::chrono::milliseconds timeout);
// A learner plugin, qualified in a child with the time LibTorch's start-up and checkpoints of
// tens of MB need (two minutes).
Expected<std::shared_ptr<loader::PluginLibrary>> open_learner(const std::string &name_or_path, const std::filesystem::path &dir);
// The plugins in a directory: the stems of its *.so files, sorted (none when it is missing).
std::vector<std::string> plugin_names(const std::filesystem::path &dir);
// Policy plugins by name, each qualified in a child like every library the host maps. With no
// names, every plugin in `dir` that qualifies as a policy (the others are passed over); a named
// one that does not is an error, and so is finding none.
using NamedPolicies = std::vector<std::pair<std::string, std::shared_ptr<const loader::PluginLibrary>>>;
Expected<NamedPolicies> qualified_policies(const std::filesystem::path &dir, const std::vector<std::string> &names = {});
// The library file of a plugin named like that (`kind` words the error), without loading it.
Expected<std::filesystem::path> find_plugin_file(const std::string &kind, const std::string &name_or_path, const std::filesystem::path &dir);
// The user running the command, for the version record ("who").
std::string current_user();

// Prints an error the user can act on and returns the exit code to use.
int fail(const Status &status);

// A one-line progress bar on stderr, drawn only when stderr is a terminal.
class Progress {
public:
    explicit Progress(std::string label);
    ~Progress();
    void update(uint64_t done, uint64_t total);
    // Erases the bar so a line can be printed; the next update draws it again.
    void suspend();

private:
    std::string label_;
    bool enabled_;
    int last_percent_ = -1;
};

} // namespace aicache::cli
