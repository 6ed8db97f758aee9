#include "server/control_socket.hpp"

#include "core/log.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace aicache::server {
namespace {

constexpr size_t kMaxRequestBytes = 1 << 20;

bool fill_address(const std::filesystem::path &path, sockaddr_un &address) {
    std::memset(&address, 0, sizeof address);
    address.sun_family = AF_UNIX;
    if (path.native().size() >= sizeof address.sun_path) return false;
    std::memcpy(address.sun_path, path.c_str(), path.native().size());
    return true;
}

bool write_all(int fd, const std::string &bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
        ssize_t n = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        done += static_cast<size_t>(n);
    }
    return true;
}

// Reads up to the first newline (or EOF), bounded in size and time.
bool read_line(int fd, std::string &line, int timeout_ms) {
    char buffer[4096];
    while (line.find('\n') == std::string::npos) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, timeout_ms) <= 0) return false;
        ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return !line.empty();
        line.append(buffer, static_cast<size_t>(n));
        if (line.size() > kMaxRequestBytes) return false;
    }
    line.resize(line.find('\n'));
    return true;
}

} // namespace

ControlSocket::~ControlSocket() { stop(); }

Status ControlSocket::start(const std::filesystem::path &socket_path, ControlHandler handler) {
    path_ = socket_path;
    handler_ = std::move(handler);
    sockaddr_un address;
    if (!fill_address(path_, address)) return Status(Errc::invalid_argument, path_.string() + ": socket path too long");
    // A socket file nobody answers on is left over from a crash: replace it. One that answers
    // belongs to a running host: refuse rather than steal it.
    if (std::filesystem::exists(path_)) {
        auto probe = control_request(path_, {{"op", "ping"}});
        if (probe || probe.error().code() != Errc::not_found)
            return Status(Errc::busy, path_.string() + ": another aicache host is serving this data directory");
        ::unlink(path_.c_str());
    }
    listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listen_fd_ < 0) return Status(Errc::io, std::string("socket: ") + std::strerror(errno));
    mode_t old_mask = ::umask(0077);
    int bound = ::bind(listen_fd_, reinterpret_cast<sockaddr *>(&address), sizeof address);
    ::umask(old_mask);
    if (bound != 0 || ::listen(listen_fd_, 16) != 0) {
        Status s(Errc::io, path_.string() + ": cannot listen: " + std::strerror(errno));
        ::close(listen_fd_);
        listen_fd_ = -1;
        return s;
    }
    return thread_.start(listen_fd_, [this] { answer_one(); });
}

void ControlSocket::stop() {
    thread_.stop();
    if (listen_fd_ >= 0) {
        ::close(listen_fd_);
        listen_fd_ = -1;
    }
    if (!path_.empty()) {
        ::unlink(path_.c_str());
        path_.clear();
    }
}

// Requests are answered one at a time: operator commands are rare, and a plugin load is
// serialized by the plugin host anyway.
void ControlSocket::answer_one() {
    int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) return;
    std::string line;
    nlohmann::json answer;
    if (!read_line(client, line, 5000)) {
        answer = {{"ok", false}, {"error", "no complete request line within 5 s"}};
    } else {
        nlohmann::json request = nlohmann::json::parse(line, nullptr, false);
        if (request.is_discarded()) {
            answer = {{"ok", false}, {"error", "request is not valid JSON"}};
        } else if (request.value("op", "") == "ping") {
            answer = {{"ok", true}, {"text", "pong\n"}};
        } else {
            Expected<std::string> result = Status(Errc::internal, "handler threw");
            try {
                result = handler_(request);
            } catch (const std::exception &e) {
                result = Status(Errc::internal, std::string("control request failed: ") + e.what());
            }
            if (result) answer = {{"ok", true}, {"text", *result}};
            else answer = {{"ok", false}, {"error", result.error().message()}, {"code", to_string(result.error().code())}};
        }
    }
    (void)write_all(client, answer.dump() + "\n");
    ::close(client);
}

Expected<std::string> control_request(const std::filesystem::path &socket_path, const nlohmann::json &request) {
    sockaddr_un address;
    if (!fill_address(socket_path, address)) return Status(Errc::invalid_argument, socket_path.string() + ": socket path too long");
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return Status(Errc::io, std::string("socket: ") + std::strerror(errno));
    if (::connect(fd, reinterpret_cast<sockaddr *>(&address), sizeof address) != 0) {
        ::close(fd);
        return Status(Errc::not_found, "no aicache host listens on " + socket_path.string());
    }
    std::string line;
    // Loading a plugin qualifies it in a child first: allow well past the qualification timeout.
    bool ok = write_all(fd, request.dump() + "\n") && read_line(fd, line, 120'000);
    ::close(fd);
    if (!ok) return Status(Errc::io, "the host at " + socket_path.string() + " did not answer");
    nlohmann::json answer = nlohmann::json::parse(line, nullptr, false);
    if (!answer.is_object()) return Status(Errc::io, "the host answered with something that is not JSON");
    if (answer.value("ok", false)) return answer.value("text", std::string());
    // The host's error code comes back too, so a caller can tell "busy, try later" from a refusal.
    const Errc code = errc_named(answer.value("code", std::string())).value_or(Errc::plugin);
    return Status(code == Errc::ok ? Errc::plugin : code, answer.value("error", std::string("request failed")));
}

} // namespace aicache::server
