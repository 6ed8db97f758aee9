// Shared helpers for aicache tests: where the build put things, temporary directories, running
// the real `aicache` binary, and watching /proc/self/maps.
#pragma once

#include <aicache/sandbox/runner.hpp>

#include <chrono>
#include <thread>
#include <filesystem>
#include <string>
#include <vector>

namespace aicache::test {

std::filesystem::path build_dir();
std::filesystem::path aicache_exe();
std::filesystem::path plugin_path(const std::string &name);  // built-in: <build>/lib/aicache/plugins/NAME.so
std::filesystem::path fixture_path(const std::string &name); // <build>/fixtures/plugins/NAME.so
std::filesystem::path source_dir();
// ../shared/data beside the project, or empty when absent (tests that need it skip).
std::filesystem::path shared_data_dir();

class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir &) = delete;
    TempDir &operator=(const TempDir &) = delete;
    [[nodiscard]] const std::filesystem::path &path() const { return path_; }

private:
    std::filesystem::path path_;
};

// Runs the real aicache binary with arguments and waits for it.
sandbox::Result run_aicache(const std::vector<std::string> &args, std::chrono::milliseconds timeout = std::chrono::seconds(60));

// Is any file mapped into this process whose path contains `fragment`?
bool is_mapped(const std::string &fragment);

// A child process left running (e.g. `aicache serve`), killed when this object dies.
class Background {
public:
    explicit Background(const std::vector<std::string> &argv, const std::filesystem::path &log_file);
    ~Background();
    Background(const Background &) = delete;
    Background &operator=(const Background &) = delete;
    [[nodiscard]] bool running() const;
    void terminate();

private:
    int pid_ = -1;
};

// Polls `condition` every 20 ms until it holds or the timeout passes.
template <class Condition>
bool eventually(Condition condition, std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (condition()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return condition();
}

} // namespace aicache::test
