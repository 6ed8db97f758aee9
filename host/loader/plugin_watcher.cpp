#include "loader/plugin_watcher.hpp"

#include "core/log.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
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
    if (::pipe2(wake_fd_, O_CLOEXEC) != 0) return Status(Errc::io, std::string("pipe: ") + std::strerror(errno));
    thread_ = std::thread([this] { run(); });
    return Status::ok();
}

void PluginWatcher::stop() {
    if (thread_.joinable()) {
        char byte = 1;
        (void)!::write(wake_fd_[1], &byte, 1);
        thread_.join();
    }
    for (int *fd : {&inotify_fd_, &wake_fd_[0], &wake_fd_[1]})
        if (*fd >= 0) {
            ::close(*fd);
            *fd = -1;
        }
}

void PluginWatcher::run() {
    alignas(inotify_event) char buffer[16384];
    for (;;) {
        pollfd fds[2] = {{inotify_fd_, POLLIN, 0}, {wake_fd_[0], POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            return;
        }
        if (fds[1].revents) return;
        ssize_t n = ::read(inotify_fd_, buffer, sizeof buffer);
        if (n <= 0) continue;
        for (ssize_t off = 0; off < n;) {
            const auto *event = reinterpret_cast<const inotify_event *>(buffer + off);
            off += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
            if (event->len == 0) continue;
            std::filesystem::path file = directory_ / event->name;
            if (file.extension() != ".so") continue;
            spdlog::info("plugin directory: {} changed", file.string());
            try {
                on_library_(file);
            } catch (const std::exception &e) {
                spdlog::error("plugin directory: handling {} failed: {}", file.string(), e.what());
            }
        }
    }
}

} // namespace aicache::loader
