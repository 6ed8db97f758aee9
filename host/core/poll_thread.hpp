// A background thread that waits on one file descriptor and runs a handler each time it becomes
// readable, until stop() wakes it through a private pipe and joins it.
#pragma once

#include "core/status.hpp"

#include <functional>
#include <thread>

namespace aicache {

class PollThread {
public:
    PollThread() = default;
    PollThread(const PollThread &) = delete;
    PollThread &operator=(const PollThread &) = delete;
    ~PollThread() { stop(); }

    // `fd` stays owned by the caller and must outlive the thread (close it after stop()).
    Status start(int fd, std::function<void()> on_readable);
    void stop();

private:
    void run();
    int fd_ = -1;
    int wake_[2] = {-1, -1};
    std::function<void()> on_readable_;
    std::thread thread_;
};

} // namespace aicache
