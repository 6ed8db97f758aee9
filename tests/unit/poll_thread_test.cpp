// The background thread that waits on a descriptor (the plugin directory's inotify queue): it runs
// its handler when the descriptor is readable, and when the descriptor is closed under it, it
// stops rather than spinning on a descriptor that will never deliver (a silent plugin watcher).
#include "core/poll_thread.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <csignal>
#include <chrono>
#include <thread>
#include <unistd.h>

using namespace aicache;

TEST_CASE("a poll thread runs its handler when readable, and stops instead of spinning when the descriptor is closed under it") {
    int pipe_fds[2];
    REQUIRE(::pipe(pipe_fds) == 0);
    std::atomic<int> calls{0};
    PollThread thread;
    REQUIRE(thread.start(pipe_fds[0], [&] {
        char byte;
        (void)!::read(pipe_fds[0], &byte, 1);
        ++calls;
    }));
    REQUIRE(::write(pipe_fds[1], "x", 1) == 1);
    for (int i = 0; i < 200 && calls == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    CHECK(calls == 1);

    // Closed elsewhere while watched: the poll under way still holds the pipe, so a byte wakes it,
    // the handler's read fails, and every poll after that finds the descriptor closed.
    std::signal(SIGPIPE, SIG_IGN);
    ::close(pipe_fds[0]);
    (void)!::write(pipe_fds[1], "y", 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    CHECK(calls <= 3); // not called again and again
    thread.stop();
    ::close(pipe_fds[1]);
}
