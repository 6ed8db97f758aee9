// An `aicache serve` host run as a child process, the way an operator runs it, for the demo: it
// is started with the caller's flags on a data directory of its own, its output goes to
// <data>/serve.log, and it is driven over HTTP (its port, read from that log) and its control
// socket. The destructor stops it with SIGTERM (and SIGKILL if it does not end in 10 s).
#pragma once

#include "core/status.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <sys/types.h>
#include <vector>

namespace aicache::cli {

class ServeProcess {
public:
    ServeProcess() = default;
    ~ServeProcess();
    ServeProcess(const ServeProcess &) = delete;
    ServeProcess &operator=(const ServeProcess &) = delete;

    // Starts `aicache serve --data DATA --listen 127.0.0.1:0 FLAGS...` and waits until it serves.
    Status start(const std::filesystem::path &data, const std::vector<std::string> &flags);
    // Ends it with SIGTERM: it closes its last monitor window and keeps its cache.
    Status stop();

    [[nodiscard]] uint16_t port() const { return port_; }
    [[nodiscard]] const std::filesystem::path &data() const { return data_; }
    // A control-socket operation (server/control_socket.hpp); the answer parsed.
    Expected<nlohmann::json> control(const nlohmann::json &request) const;

private:
    std::filesystem::path data_;
    pid_t pid_ = -1;
    uint16_t port_ = 0;
};

} // namespace aicache::cli
