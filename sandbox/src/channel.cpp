#include "aicache/sandbox/channel.hpp"

#include <cerrno>
#include <cstring>
#include <unistd.h>

namespace aicache::sandbox {

void append_frame(std::string &out, std::string_view payload) {
    uint32_t length = static_cast<uint32_t>(payload.size());
    char prefix[4] = {static_cast<char>(length & 0xFF), static_cast<char>((length >> 8) & 0xFF), static_cast<char>((length >> 16) & 0xFF),
                      static_cast<char>((length >> 24) & 0xFF)};
    out.append(prefix, 4);
    out.append(payload);
}

namespace {
uint32_t decode_length(const char *p) {
    return uint32_t(uint8_t(p[0])) | uint32_t(uint8_t(p[1])) << 8 | uint32_t(uint8_t(p[2])) << 16 | uint32_t(uint8_t(p[3])) << 24;
}
} // namespace

std::optional<std::vector<std::string>> split_frames(std::string_view bytes, size_t max_frame) {
    std::vector<std::string> frames;
    while (!bytes.empty()) {
        if (bytes.size() < 4) return std::nullopt;
        uint32_t length = decode_length(bytes.data());
        if (length > max_frame || bytes.size() - 4 < length) return std::nullopt;
        frames.emplace_back(bytes.substr(4, length));
        bytes.remove_prefix(4 + length);
    }
    return frames;
}

namespace {
bool write_all(int fd, const char *data, size_t size) noexcept {
    while (size > 0) {
        ssize_t n = ::write(fd, data, size);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        data += n;
        size -= static_cast<size_t>(n);
    }
    return true;
}
bool read_all(int fd, char *data, size_t size) noexcept {
    while (size > 0) {
        ssize_t n = ::read(fd, data, size);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        data += n;
        size -= static_cast<size_t>(n);
    }
    return true;
}
} // namespace

bool write_frame(int fd, std::string_view payload) noexcept {
    try {
        std::string framed;
        append_frame(framed, payload);
        return write_all(fd, framed.data(), framed.size());
    } catch (...) {
        return false;
    }
}

std::optional<std::string> read_frame(int fd, size_t max_frame) noexcept {
    char prefix[4];
    if (!read_all(fd, prefix, 4)) return std::nullopt;
    uint32_t length = decode_length(prefix);
    if (length > max_frame) return std::nullopt;
    try {
        std::string payload(length, '\0');
        if (!read_all(fd, payload.data(), length)) return std::nullopt;
        return payload;
    } catch (...) {
        return std::nullopt;
    }
}

} // namespace aicache::sandbox
