#include "test_support.hpp"

#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <random>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

namespace aicache::test {

std::filesystem::path build_dir() { return AICACHE_TEST_BUILD_DIR; }
std::filesystem::path source_dir() { return AICACHE_TEST_SOURCE_DIR; }
std::filesystem::path aicache_exe() { return build_dir() / "bin" / "aicache"; }
std::filesystem::path plugin_path(const std::string &name) { return build_dir() / "lib" / "aicache" / "plugins" / (name + ".so"); }
std::filesystem::path fixture_path(const std::string &name) { return build_dir() / "fixtures" / "plugins" / (name + ".so"); }

std::filesystem::path shared_data_dir() {
    auto dir = (source_dir() / ".." / "shared" / "data").lexically_normal();
    return std::filesystem::is_directory(dir) ? dir : std::filesystem::path();
}

TempDir::TempDir() {
    std::random_device rd;
    auto base = std::filesystem::temp_directory_path();
    for (;;) {
        path_ = base / ("aicache-test-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
        if (std::filesystem::create_directory(path_)) break;
    }
}

TempDir::~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

sandbox::Result run_aicache(const std::vector<std::string> &args, std::chrono::milliseconds timeout) {
    std::vector<std::string> argv{aicache_exe().string()};
    argv.insert(argv.end(), args.begin(), args.end());
    sandbox::Limits limits;
    limits.wall_time = timeout;
    return sandbox::run(argv, limits);
}

bool is_mapped(const std::string &fragment) {
    std::ifstream maps("/proc/self/maps");
    std::string line;
    while (std::getline(maps, line))
        if (line.find(fragment) != std::string::npos) return true;
    return false;
}

Background::Background(const std::vector<std::string> &argv, const std::filesystem::path &log_file) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    std::vector<char *> args;
    for (const auto &a : argv) args.push_back(const_cast<char *>(a.c_str()));
    args.push_back(nullptr);
    if (::posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
}

bool Background::running() const {
    if (pid_ <= 0) return false;
    int status = 0;
    return ::waitpid(pid_, &status, WNOHANG) == 0;
}

void Background::terminate() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 250; ++i) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            return;
        }
        ::usleep(20'000);
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
}

Background::~Background() { terminate(); }

} // namespace aicache::test
