// The host's local control channel: a Unix socket at <data>/control.sock, one JSON request line
// in, one JSON answer line out, per connection. Local-only by construction (file permissions
// 0600), it carries operator commands until the HTTP operator API exists.
#pragma once

#include "core/poll_thread.hpp"
#include "core/status.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>
#include <string>

namespace aicache::server {

// Answers one request: the text to print, or an error.
using ControlHandler = std::function<Expected<std::string>(const nlohmann::json &request)>;

class ControlSocket {
public:
    ControlSocket() = default;
    ControlSocket(const ControlSocket &) = delete;
    ControlSocket &operator=(const ControlSocket &) = delete;
    ~ControlSocket();

    // Binds the socket (replacing a stale one no host answers on) and starts serving on a thread.
    Status start(const std::filesystem::path &socket_path, ControlHandler handler);
    void stop();

private:
    void answer_one();
    std::filesystem::path path_;
    ControlHandler handler_;
    int listen_fd_ = -1;
    PollThread thread_;
};

// Client side. Errc::not_found when no host listens at the path.
Expected<std::string> control_request(const std::filesystem::path &socket_path, const nlohmann::json &request);

} // namespace aicache::server
