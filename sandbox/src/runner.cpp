#include <aicache/sandbox/runner.hpp>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

namespace aicache::sandbox {

const char *to_string(Outcome outcome) noexcept {
    switch (outcome) {
    case Outcome::ok: return "ok";
    case Outcome::failed: return "failed";
    case Outcome::setup_error: return "setup_error";
    case Outcome::violation: return "violation";
    case Outcome::timeout: return "timeout";
    case Outcome::crashed: return "crashed";
    case Outcome::resource: return "resource";
    }
    return "unknown";
}

std::string Result::last_words(size_t max_bytes) const {
    std::string said = err.size() > max_bytes ? err.substr(err.size() - max_bytes) : err;
    while (!said.empty() && (said.back() == '\n' || said.back() == '\r')) said.pop_back();
    return said;
}

std::string Result::to_string() const {
    std::string text = sandbox::to_string(outcome);
    if (!reason.empty()) text += ": " + reason;
    return text;
}

namespace {

struct Pipe {
    int read_end = -1, write_end = -1;
    bool open() {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0) return false;
        read_end = fds[0];
        write_end = fds[1];
        return true;
    }
    void close_all() {
        if (read_end >= 0) ::close(read_end);
        if (write_end >= 0) ::close(write_end);
        read_end = write_end = -1;
    }
};

// A child that exits without reading its stdin must not take the supervisor down with SIGPIPE:
// block it for this thread around the write and swallow the one it raised.
ssize_t write_without_sigpipe(int fd, std::string_view bytes) {
    sigset_t pipe_signal, previous;
    sigemptyset(&pipe_signal);
    sigaddset(&pipe_signal, SIGPIPE);
    ::pthread_sigmask(SIG_BLOCK, &pipe_signal, &previous);
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EPIPE) {
        timespec no_wait{};
        ::sigtimedwait(&pipe_signal, nullptr, &no_wait);
    }
    ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    return n;
}

std::string signal_name(int sig) {
    const char *abbrev = ::sigabbrev_np(sig);
    return abbrev != nullptr ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

} // namespace

Result run(const std::vector<std::string> &argv, const Limits &limits, std::optional<std::string_view> input) noexcept {
    Result result;
    try {
        if (argv.empty()) {
            result.reason = "no program given";
            return result;
        }
        Pipe out, err, in;
        if (!out.open() || !err.open() || (input && !in.open())) {
            result.reason = std::string("pipe: ") + std::strerror(errno);
            out.close_all();
            err.close_all();
            in.close_all();
            return result;
        }
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        if (input) posix_spawn_file_actions_adddup2(&actions, in.read_end, 0);
        else posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_adddup2(&actions, out.write_end, 1);
        posix_spawn_file_actions_adddup2(&actions, err.write_end, 2);
        posix_spawnattr_t attributes;
        posix_spawnattr_init(&attributes);
        // Its own process group, so a timeout kills whatever the child started too.
        posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
        posix_spawnattr_setpgroup(&attributes, 0);
        sigset_t empty, all;
        sigemptyset(&empty);
        sigfillset(&all);
        posix_spawnattr_setsigmask(&attributes, &empty);
        posix_spawnattr_setsigdefault(&attributes, &all);

        std::vector<char *> args;
        for (const auto &a : argv) args.push_back(const_cast<char *>(a.c_str()));
        args.push_back(nullptr);
        pid_t pid = -1;
        int spawned = ::posix_spawn(&pid, args[0], &actions, &attributes, args.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        posix_spawnattr_destroy(&attributes);
        ::close(out.write_end);
        ::close(err.write_end);
        out.write_end = err.write_end = -1;
        if (input) {
            ::close(in.read_end);
            in.read_end = -1;
        }
        if (spawned != 0) {
            result.reason = argv[0] + ": cannot start: " + std::strerror(spawned);
            out.close_all();
            err.close_all();
            in.close_all();
            return result;
        }
        std::string_view pending = input ? *input : std::string_view();
        if (input) {
            ::fcntl(in.write_end, F_SETFL, O_NONBLOCK);
            if (pending.empty()) in.close_all();
        }

        auto deadline = std::chrono::steady_clock::now() + limits.wall_time;
        bool timed_out = false, too_much_output = false;
        pollfd fds[3] = {{out.read_end, POLLIN, 0}, {err.read_end, POLLIN, 0}, {in.write_end, POLLOUT, 0}};
        std::string *sinks[2] = {&result.out, &result.err};
        int open_fds = 2;
        char buffer[65536];
        while (open_fds > 0) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0 || too_much_output) {
                timed_out = !too_much_output;
                ::kill(-pid, SIGKILL);
                ::kill(pid, SIGKILL);
                break;
            }
            fds[2].fd = in.write_end;
            int ready = ::poll(fds, 3, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
            if (ready < 0 && errno != EINTR) break;
            for (int i = 0; i < 2; ++i) {
                if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
                ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
                if (n <= 0) {
                    ::close(fds[i].fd);
                    fds[i].fd = -1;
                    --open_fds;
                    continue;
                }
                if (sinks[i]->size() + static_cast<size_t>(n) > limits.max_output_bytes) too_much_output = true;
                else sinks[i]->append(buffer, static_cast<size_t>(n));
            }
            // The child's stdin: fed as it reads; a child that stops reading just gets end of file later.
            if (in.write_end >= 0 && (fds[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
                ssize_t n = write_without_sigpipe(in.write_end, pending);
                if (n > 0) pending.remove_prefix(static_cast<size_t>(n));
                if ((n < 0 && errno != EAGAIN && errno != EINTR) || pending.empty()) in.close_all();
            }
        }
        for (int i = 0; i < 2; ++i)
            if (fds[i].fd >= 0) ::close(fds[i].fd);
        in.close_all();
        // The child closed its output but may still be running: honour the deadline for its exit too.
        int status = 0;
        for (;;) {
            pid_t done = ::waitpid(pid, &status, timed_out ? 0 : WNOHANG);
            if (done == pid) break;
            if (done < 0 && errno != EINTR) break;
            if (std::chrono::steady_clock::now() >= deadline) {
                timed_out = true;
                ::kill(-pid, SIGKILL);
                ::kill(pid, SIGKILL);
                continue;
            }
            ::usleep(2000);
        }
        if (too_much_output) {
            result.outcome = Outcome::resource;
            result.reason = "wrote more than " + std::to_string(limits.max_output_bytes) + " bytes of output; killed";
        } else if (timed_out) {
            result.outcome = Outcome::timeout;
            result.reason = "no answer within " + std::to_string(limits.wall_time.count()) + " ms; killed";
        } else if (WIFEXITED(status)) {
            result.exit_code = WEXITSTATUS(status);
            result.outcome = result.exit_code == 0 ? Outcome::ok : Outcome::failed;
            if (result.exit_code != 0) result.reason = "exit status " + std::to_string(result.exit_code);
            if (result.exit_code == kExitOutOfMemory) {
                result.outcome = Outcome::resource;
                result.reason = "out of memory under the " + std::to_string(limits.address_space_bytes >> 20) + " MiB address-space limit";
            }
        } else if (WIFSIGNALED(status)) {
            result.signal = WTERMSIG(status);
            result.outcome = result.signal == SIGSYS                                  ? Outcome::violation
                             : (result.signal == SIGXCPU || result.signal == SIGKILL) ? Outcome::resource
                                                                                      : Outcome::crashed;
            result.reason = result.signal == SIGXCPU ? "used up its " + std::to_string(limits.cpu_seconds) + " s of CPU time"
                                                     : "killed by " + signal_name(result.signal);
        }
        return result;
    } catch (...) {
        result.outcome = Outcome::setup_error;
        result.reason = "out of memory while supervising the child";
        return result;
    }
}

std::string apply_limits(uint64_t cpu_seconds, uint64_t address_space_bytes) noexcept {
    rlimit cpu{cpu_seconds, cpu_seconds + 1};
    rlimit as{address_space_bytes, address_space_bytes};
    rlimit core{0, 0};
    if (::setrlimit(RLIMIT_CPU, &cpu) != 0) return std::string("RLIMIT_CPU: ") + std::strerror(errno);
    if (::setrlimit(RLIMIT_AS, &as) != 0) return std::string("RLIMIT_AS: ") + std::strerror(errno);
    if (::setrlimit(RLIMIT_CORE, &core) != 0) return std::string("RLIMIT_CORE: ") + std::strerror(errno);
    return {};
}

} // namespace aicache::sandbox
