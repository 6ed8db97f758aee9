#include "cli/serve_process.hpp"

#include "loader/qualify.hpp"
#include "server/control_socket.hpp"

#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <regex>
#include <spawn.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char **environ;

namespace aicache::cli {

namespace {

// The last lines of a log, to say why a host did not start.
std::string tail_of(const std::filesystem::path &file, size_t max_bytes = 800) {
    std::ifstream in(file, std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return text.size() > max_bytes ? "..." + text.substr(text.size() - max_bytes) : text;
}

} // namespace

ServeProcess::~ServeProcess() { (void)stop(); }

Status ServeProcess::start(const std::filesystem::path &data, const std::vector<std::string> &flags) {
    if (pid_ > 0) return Status(Errc::busy, "this host is already running");
    data_ = data;
    std::error_code ec;
    std::filesystem::create_directories(data, ec);
    if (ec) return Status(Errc::io, "cannot create " + data.string() + ": " + ec.message());
    const std::filesystem::path log = data / "serve.log";
    std::vector<std::string> args = {loader::current_executable().string(), "serve", "--data", data.string(), "--listen", "127.0.0.1:0"};
    args.insert(args.end(), flags.begin(), flags.end());
    std::vector<char *> argv;
    for (auto &a : args) argv.push_back(a.data());
    argv.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    int spawned = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (spawned != 0) {
        pid_ = -1;
        return Status(Errc::io, "cannot start " + args[0] + " serve: " + std::strerror(spawned));
    }
    // It prints "aicache serving http://127.0.0.1:PORT ..." once the proxy and the control socket listen.
    static const std::regex serving(R"(serving http://127\.0\.0\.1:([0-9]+))");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (std::chrono::steady_clock::now() < deadline) {
        std::smatch m;
        const std::string text = tail_of(log, 1 << 16);
        if (std::regex_search(text, m, serving)) {
            port_ = static_cast<uint16_t>(std::stoul(m[1]));
            return Status::ok();
        }
        int status = 0;
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            return Status(Errc::internal, "aicache serve on " + data.string() + " ended before it served:\n" + tail_of(log));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    (void)stop();
    return Status(Errc::timeout, "aicache serve on " + data.string() + " did not start in 120 s:\n" + tail_of(log));
}

Status ServeProcess::stop() {
    if (pid_ <= 0) return Status::ok();
    ::kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 200; ++i) {
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? Status::ok()
                                                                   : Status(Errc::internal, "aicache serve on " + data_.string() + " ended badly; see " +
                                                                                                (data_ / "serve.log").string());
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ::kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return Status(Errc::timeout, "aicache serve on " + data_.string() + " did not stop in 10 s and was killed");
}

Expected<nlohmann::json> ServeProcess::control(const nlohmann::json &request) const {
    auto answer = server::control_request(data_ / "control.sock", request);
    if (!answer) return answer.error();
    nlohmann::json parsed = nlohmann::json::parse(*answer, nullptr, false);
    if (parsed.is_discarded()) return Status(Errc::internal, "the host's control answer is not JSON: " + *answer);
    return parsed;
}

} // namespace aicache::cli
