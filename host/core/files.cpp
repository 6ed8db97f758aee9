#include "core/files.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace aicache {

Expected<std::string> read_file(const std::filesystem::path &path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Status(Errc::io, path.string() + ": cannot open: " + std::strerror(errno));
    std::string bytes;
    char buffer[1 << 16];
    for (;;) {
        ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int err = errno;
            ::close(fd);
            return Status(Errc::io, path.string() + ": read failed: " + std::strerror(err));
        }
        if (n == 0) break;
        bytes.append(buffer, static_cast<size_t>(n));
    }
    ::close(fd);
    return bytes;
}

Status write_file_atomic(const std::filesystem::path &path, std::string_view bytes) {
    std::filesystem::path tmp = path;
    tmp += ".tmp." + std::to_string(::getpid());
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return Status(Errc::io, tmp.string() + ": cannot create: " + std::strerror(errno));
    size_t done = 0;
    while (done < bytes.size()) {
        ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int err = errno;
            ::close(fd);
            ::unlink(tmp.c_str());
            return Status(Errc::io, path.string() + ": write failed: " + std::strerror(err));
        }
        done += static_cast<size_t>(n);
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0) {
        int err = errno;
        ::unlink(tmp.c_str());
        return Status(Errc::io, path.string() + ": fsync failed: " + std::strerror(err));
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        int err = errno;
        ::unlink(tmp.c_str());
        return Status(Errc::io, path.string() + ": rename failed: " + std::strerror(err));
    }
    return Status::ok();
}

Status append_file(const std::filesystem::path &path, std::string_view bytes) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return Status(Errc::io, path.string() + ": cannot open for appending: " + std::strerror(errno));
    ssize_t n;
    do n = ::write(fd, bytes.data(), bytes.size());
    while (n < 0 && errno == EINTR);
    int err = errno;
    ::close(fd);
    if (n < 0) return Status(Errc::io, path.string() + ": append failed: " + std::strerror(err));
    if (static_cast<size_t>(n) != bytes.size()) return Status(Errc::io, path.string() + ": append cut short (disk full?)");
    return Status::ok();
}

} // namespace aicache
