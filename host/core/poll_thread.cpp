#include "core/poll_thread.hpp"

#include "core/log.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

namespace aicache {

Status PollThread::start(int fd, std::function<void()> on_readable) {
    if (::pipe2(wake_, O_CLOEXEC) != 0) return Status(Errc::io, std::string("pipe: ") + std::strerror(errno));
    fd_ = fd;
    on_readable_ = std::move(on_readable);
    thread_ = std::thread([this] { run(); });
    return Status::ok();
}

void PollThread::stop() {
    if (thread_.joinable()) {
        char byte = 1;
        (void)!::write(wake_[1], &byte, 1);
        thread_.join();
    }
    for (int &fd : wake_)
        if (fd >= 0) {
            ::close(fd);
            fd = -1;
        }
}

void PollThread::run() {
    for (;;) {
        pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            spdlog::error("poll failed: {}", std::strerror(errno));
            return;
        }
        if (fds[1].revents) return;
        if (fds[0].revents & (POLLNVAL | POLLERR)) {
            // The descriptor was closed (or broke) under us: polling it again would spin without
            // ever delivering, so say so and stop instead of going quiet.
            spdlog::error("descriptor {} {} while watched: its handler stops", fd_, (fds[0].revents & POLLNVAL) ? "was closed" : "failed");
            return;
        }
        if (fds[0].revents) {
            try {
                on_readable_();
            } catch (const std::exception &e) {
                spdlog::error("background handler failed: {}", e.what());
            }
        }
    }
}

} // namespace aicache
