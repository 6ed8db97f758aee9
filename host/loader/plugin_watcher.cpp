#include "loader/plugin_watcher.hpp"

#include "core/log.hpp"

#include <cerrno>
#include <cstring>
#include <sys/inotify.h>
#include <unistd.h>

namespace aicache::loader {

PluginWatcher::~PluginWatcher() { stop(); }

Status PluginWatcher::start(const std::filesystem::path &directory, OnLibrary on_library) {
    directory_ = directory;
    on_library_ = std::move(on_library);
    inotify_fd_ = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (inotify_fd_ < 0) return Status(Errc::io, std::string("inotify: ") + std::strerror(errno));
    // CLOSE_WRITE: a build wrote the file in place. MOVED_TO: installed by rename (cp to tmp + mv).
    if (::inotify_add_watch(inotify_fd_, directory.c_str(), IN_CLOSE_WRITE | IN_MOVED_TO) < 0) {
        Status s(Errc::io, directory.string() + ": cannot watch: " + std::strerror(errno));
        ::close(inotify_fd_);
        inotify_fd_ = -1;
        return s;
    }
    return thread_.start(inotify_fd_, [this] { drain_events(); });
}

void PluginWatcher::stop() {
    thread_.stop();
    if (inotify_fd_ >= 0) {
        ::close(inotify_fd_);
        inotify_fd_ = -1;
    }
}

void PluginWatcher::drain_events() {
    alignas(inotify_event) char buffer[16384];
    for (;;) {
        ssize_t n = ::read(inotify_fd_, buffer, sizeof buffer);
        if (n <= 0) return; // non-blocking: drained
        for (ssize_t off = 0; off < n;) {
            const auto *event = reinterpret_cast<const inotify_event *>(buffer + off);
            off += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
            if (event->len == 0) continue;
            std::filesystem::path file = directory_ / event->name;
            if (file.extension() != ".so") continue;
            spdlog::info("plugin directory: {} changed", file.string());
            on_library_(file);
        }
    }
}

} // namespace aicache::loader
