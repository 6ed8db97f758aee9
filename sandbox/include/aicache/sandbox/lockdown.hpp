// What a child does to itself once it has loaded everything it needs: from then on it can only
// compute, read and write the descriptors it kept, and exit. Deny by default: a system call the
// filter does not name kills the process (SIGSYS, which the runner reports as a violation),
// unless it is listed to fail with an error number instead (for probes a library makes and
// copes with, such as isatty).
//
//   std::string why = sandbox::SyscallFilter::compute_only().fail("ioctl", ENOTTY).install();
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace aicache::sandbox {

class SyscallFilter {
public:
    // Nothing allowed yet.
    static SyscallFilter deny_all() { return SyscallFilter(); }
    // Memory, time, signals, reading and writing already-open descriptors, and exiting: what a
    // compiler or an evaluation needs once its inputs are in memory. No open, socket, exec,
    // fork, ptrace, kill, or anything else.
    static SyscallFilter compute_only();

    SyscallFilter &allow(const char *syscall_name);
    SyscallFilter &fail(const char *syscall_name, int error_number);

    // Sets no_new_privs and loads the filter into this process (all its threads from now on:
    // call it before starting any). Returns an empty string on success, else the reason.
    [[nodiscard]] std::string install() const noexcept;

private:
    SyscallFilter() = default;
    std::vector<std::string> allowed_;
    std::vector<std::pair<std::string, int>> failing_;
};

// Out of memory is a verdict on the input, not a crash: exit with kExitOutOfMemory (runner.hpp),
// which the parent reports as Outcome::resource. The first installs it as the new-handler; the
// second is for libraries with their own allocation-failure hook (LLVM).
void exit_on_out_of_memory() noexcept;
[[noreturn]] void exit_out_of_memory() noexcept;

// Closes every descriptor except those listed. Returns an empty string or the reason.
std::string close_descriptors_except(std::initializer_list<int> keep) noexcept;

} // namespace aicache::sandbox
