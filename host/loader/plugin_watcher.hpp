// Watches the plugin directory with inotify: a library written or moved in there is handed to a
// callback (which qualifies and loads it), so dropping a new build hot-swaps it.
#pragma once

#include "core/poll_thread.hpp"
#include "core/status.hpp"

#include <filesystem>
#include <functional>

namespace aicache::loader {

class PluginWatcher {
public:
    using OnLibrary = std::function<void(const std::filesystem::path &file)>;

    PluginWatcher() = default;
    PluginWatcher(const PluginWatcher &) = delete;
    PluginWatcher &operator=(const PluginWatcher &) = delete;
    ~PluginWatcher();

    Status start(const std::filesystem::path &directory, OnLibrary on_library);
    void stop();

private:
    void drain_events();
    std::filesystem::path directory_;
    OnLibrary on_library_;
    int inotify_fd_ = -1;
    PollThread thread_;
};

} // namespace aicache::loader
