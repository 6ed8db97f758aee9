#include "aicache/sandbox/lockdown.hpp"
#include "aicache/sandbox/runner.hpp"

#include <seccomp.h>

#include <algorithm>
#include <new>
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <sys/prctl.h>
#include <unistd.h>

namespace aicache::sandbox {

SyscallFilter SyscallFilter::compute_only() {
    SyscallFilter filter;
    for (const char *name : {"read", "write", "readv", "writev", "close", "brk", "mmap", "munmap", "mremap", "mprotect", "madvise",
                             "futex", "fstat", "newfstatat", "lseek", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn",
                             "sigaltstack", "clock_gettime", "clock_nanosleep", "gettimeofday", "getrandom", "getpid", "gettid",
                             "sched_yield", "sched_getaffinity", "sysinfo", "exit", "exit_group"})
        filter.allow(name);
    return filter;
}

SyscallFilter &SyscallFilter::allow(const char *syscall_name) {
    allowed_.emplace_back(syscall_name);
    return *this;
}

SyscallFilter &SyscallFilter::fail(const char *syscall_name, int error_number) {
    failing_.emplace_back(syscall_name, error_number);
    return *this;
}

std::string SyscallFilter::install() const noexcept {
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return std::string("no_new_privs: ") + std::strerror(errno);
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
    if (ctx == nullptr) return "seccomp_init failed";
    std::string why;
    auto add = [&](const std::string &name, uint32_t action) {
        int nr = seccomp_syscall_resolve_name(name.c_str());
        if (nr == __NR_SCMP_ERROR) {
            why = "unknown system call " + name;
            return;
        }
        if (int rc = seccomp_rule_add(ctx, action, nr, 0); rc != 0) why = "seccomp_rule_add(" + name + "): " + std::strerror(-rc);
    };
    try {
        for (const auto &name : allowed_)
            if (why.empty()) add(name, SCMP_ACT_ALLOW);
        for (const auto &[name, error_number] : failing_)
            if (why.empty()) add(name, SCMP_ACT_ERRNO(static_cast<uint32_t>(error_number)));
    } catch (...) {
        why = "out of memory building the filter";
    }
    if (why.empty())
        if (int rc = seccomp_load(ctx); rc != 0) why = std::string("seccomp_load: ") + std::strerror(-rc);
    seccomp_release(ctx);
    return why;
}

void exit_out_of_memory() noexcept {
    static const char message[] = "out of memory (address-space limit)\n";
    (void)!::write(2, message, sizeof message - 1);
    ::_exit(kExitOutOfMemory);
}

void exit_on_out_of_memory() noexcept {
    std::set_new_handler([] { exit_out_of_memory(); });
}

std::string close_descriptors_except(std::initializer_list<int> keep) noexcept {
    DIR *dir = ::opendir("/proc/self/fd");
    if (dir == nullptr) return std::string("/proc/self/fd: ") + std::strerror(errno);
    std::vector<int> open_fds;
    try {
        while (dirent *entry = ::readdir(dir)) {
            if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
            int fd = std::atoi(entry->d_name);
            if (fd != ::dirfd(dir) && std::find(keep.begin(), keep.end(), fd) == keep.end()) open_fds.push_back(fd);
        }
    } catch (...) {
        ::closedir(dir);
        return "out of memory listing descriptors";
    }
    ::closedir(dir);
    for (int fd : open_fds) ::close(fd);
    return {};
}

} // namespace aicache::sandbox
