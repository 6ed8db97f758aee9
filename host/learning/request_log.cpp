#include "learning/request_log.hpp"

#include "core/files.hpp"
#include "core/log.hpp"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace aicache::learning {

static_assert(std::endian::native == std::endian::little, "the request log is written in the machine's byte order, little-endian");

const char *to_string(RequestOutcome outcome) noexcept {
    switch (outcome) {
    case RequestOutcome::miss: return "miss";
    case RequestOutcome::hit: return "hit";
    case RequestOutcome::semantic_hit: return "semantic-hit";
    case RequestOutcome::bypass: return "bypass";
    case RequestOutcome::error: return "error";
    }
    return "unknown";
}

namespace {

template <class T>
void put(char *out, size_t offset, T value) noexcept {
    std::memcpy(out + offset, &value, sizeof value);
}
template <class T>
T get(const char *in, size_t offset) noexcept {
    T value;
    std::memcpy(&value, in + offset, sizeof value);
    return value;
}

RequestRecord decode(const char *in) noexcept {
    RequestRecord r;
    r.time_us = get<uint64_t>(in, 0);
    r.key_hash = get<uint64_t>(in, 8);
    r.tenant_hash = get<uint64_t>(in, 16);
    r.size_bytes = get<uint32_t>(in, 24);
    r.cost_tokens = get<uint32_t>(in, 28);
    r.latency_us = get<uint32_t>(in, 32);
    r.upstream_latency_us = get<uint32_t>(in, 36);
    r.outcome = static_cast<RequestOutcome>(get<uint8_t>(in, 40));
    r.source = static_cast<RequestSource>(get<uint8_t>(in, 41));
    r.flags = get<uint16_t>(in, 42);
    return r;
}

std::string header_bytes() {
    char header[kRequestLogHeaderBytes];
    std::memcpy(header, kRequestLogMagic, sizeof kRequestLogMagic);
    put<uint32_t>(header, 8, kRequestLogVersion);
    put<uint32_t>(header, 12, static_cast<uint32_t>(kRequestRecordBytes));
    return std::string(header, sizeof header);
}

std::filesystem::path rotated(const std::filesystem::path &path, unsigned n) {
    return path.parent_path() / (path.stem().string() + "." + std::to_string(n) + path.extension().string());
}

// Creates `path` holding only the header, unless it exists: written under a private name and
// linked into place, so no process ever sees (or appends to) a file without its header.
Status create_with_header(const std::filesystem::path &path) {
    std::filesystem::path temporary = path.string() + ".new." + std::to_string(::getpid());
    if (Status written = write_file_atomic(temporary, header_bytes()); !written) return written;
    int linked = ::link(temporary.c_str(), path.c_str());
    int link_errno = errno;
    ::unlink(temporary.c_str());
    if (linked != 0 && link_errno != EEXIST)
        return Status(Errc::io, "cannot create request log " + path.string() + ": " + std::strerror(link_errno));
    return Status::ok();
}

bool write_all(int fd, const char *data, size_t size, size_t &written) {
    written = 0;
    while (written < size) {
        ssize_t n = ::write(fd, data + written, size - written);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        written += static_cast<size_t>(n);
    }
    return true;
}

} // namespace

void encode(const RequestRecord &r, char (&out)[kRequestRecordBytes]) noexcept {
    put(out, 0, r.time_us);
    put(out, 8, r.key_hash);
    put(out, 16, r.tenant_hash);
    put(out, 24, r.size_bytes);
    put(out, 28, r.cost_tokens);
    put(out, 32, r.latency_us);
    put(out, 36, r.upstream_latency_us);
    put(out, 40, static_cast<uint8_t>(r.outcome));
    put(out, 41, static_cast<uint8_t>(r.source));
    put(out, 42, r.flags);
    put<uint32_t>(out, 44, 0);
}

bool is_request_log(const std::filesystem::path &path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    char magic[sizeof kRequestLogMagic];
    bool ours = ::read(fd, magic, sizeof magic) == static_cast<ssize_t>(sizeof magic) &&
                std::memcmp(magic, kRequestLogMagic, sizeof magic) == 0;
    ::close(fd);
    return ours;
}

Expected<std::vector<RequestRecord>> read_request_log(const std::filesystem::path &path) {
    auto bytes = read_file(path);
    if (!bytes) return bytes.error();
    const std::string where = path.string();
    if (bytes->size() < kRequestLogHeaderBytes || std::memcmp(bytes->data(), kRequestLogMagic, sizeof kRequestLogMagic) != 0)
        return Status(Errc::corrupt, where + ": not an aicache request log (no AICRLOG header at offset 0)");
    uint32_t version = get<uint32_t>(bytes->data(), 8);
    uint32_t record_bytes = get<uint32_t>(bytes->data(), 12);
    if (version != kRequestLogVersion)
        return Status(Errc::corrupt, where + ": request log format version " + std::to_string(version) + " at offset 8; this aicache reads version " +
                                         std::to_string(kRequestLogVersion));
    if (record_bytes < kRequestRecordBytes)
        return Status(Errc::corrupt, where + ": records of " + std::to_string(record_bytes) + " bytes (offset 12); at least " +
                                         std::to_string(kRequestRecordBytes) + " expected");
    const size_t body = bytes->size() - kRequestLogHeaderBytes;
    if (body % record_bytes != 0) {
        size_t offset = bytes->size() - body % record_bytes;
        return Status(Errc::corrupt, where + ": truncated record at byte offset " + std::to_string(offset) + " (" +
                                         std::to_string(body % record_bytes) + " of " + std::to_string(record_bytes) + " bytes)");
    }
    std::vector<RequestRecord> records;
    records.reserve(body / record_bytes);
    for (size_t offset = kRequestLogHeaderBytes; offset < bytes->size(); offset += record_bytes) {
        RequestRecord r = decode(bytes->data() + offset);
        if (static_cast<uint8_t>(r.outcome) > static_cast<uint8_t>(RequestOutcome::error))
            return Status(Errc::corrupt, where + ": unknown outcome " + std::to_string(static_cast<unsigned>(r.outcome)) +
                                             " in the record at byte offset " + std::to_string(offset));
        records.push_back(r);
    }
    return records;
}

std::vector<std::filesystem::path> request_log_files(const std::filesystem::path &data_dir) {
    const std::filesystem::path current = data_dir / "requests.arl";
    std::vector<std::filesystem::path> files;
    std::error_code ec;
    for (unsigned n = 1; std::filesystem::exists(rotated(current, n), ec); ++n) files.push_back(rotated(current, n));
    std::reverse(files.begin(), files.end());
    if (std::filesystem::exists(current, ec)) files.push_back(current);
    return files;
}

Expected<std::unique_ptr<RequestLog>> RequestLog::open(RequestLogOptions options) {
    if (options.path.empty()) return Status(Errc::invalid_argument, "request log: no path");
    std::unique_ptr<RequestLog> log(new RequestLog(std::move(options)));
    if (Status opened = log->open_file(); !opened) return opened;
    log->writer_ = std::thread([raw = log.get()] { raw->run(); });
    return log;
}

Status RequestLog::open_file() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    for (int attempt = 0; attempt < 2; ++attempt) {
        if (Status created = create_with_header(options_.path); !created) return created;
        int fd = ::open(options_.path.c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
        if (fd < 0) return Status(Errc::io, "cannot open request log " + options_.path.string() + ": " + std::strerror(errno));
        char header[kRequestLogHeaderBytes];
        bool valid = ::pread(fd, header, sizeof header, 0) == static_cast<ssize_t>(sizeof header) && header_bytes() == std::string_view(header, sizeof header);
        if (valid) {
            fd_ = fd;
            return Status::ok();
        }
        ::close(fd);
        // Never append our records to a file we cannot vouch for: keep it for a person to look at.
        auto aside = options_.path.string() + ".unreadable-" + std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
        spdlog::warn("request log {} is not a version-{} request log; moved aside to {}", options_.path.string(), kRequestLogVersion, aside);
        std::error_code ec;
        std::filesystem::rename(options_.path, aside, ec);
        if (ec) return Status(Errc::io, "cannot move aside unreadable request log " + options_.path.string() + ": " + ec.message());
    }
    return Status(Errc::io, "cannot create request log " + options_.path.string());
}

void RequestLog::rotate_if_needed(size_t incoming_bytes) {
    struct stat st {};
    if (fd_ < 0 || ::fstat(fd_, &st) != 0) return;
    uint64_t size = static_cast<uint64_t>(st.st_size);
    if (size + incoming_bytes <= options_.max_bytes || size <= kRequestLogHeaderBytes) return;
    std::error_code ec;
    const unsigned keep = std::max(options_.keep, 1u);
    std::filesystem::remove(rotated(options_.path, keep), ec);
    for (unsigned n = keep; n > 1; --n)
        if (std::filesystem::exists(rotated(options_.path, n - 1), ec)) std::filesystem::rename(rotated(options_.path, n - 1), rotated(options_.path, n), ec);
    std::filesystem::rename(options_.path, rotated(options_.path, 1), ec);
    if (ec) spdlog::warn("request log rotation of {}: {}", options_.path.string(), ec.message());
    if (Status reopened = open_file(); !reopened) spdlog::warn("request log: {}", reopened.message());
}

void RequestLog::write_batch(const std::vector<RequestRecord> &batch) {
    if (batch.empty()) return;
    std::string buffer(batch.size() * kRequestRecordBytes, '\0');
    for (size_t i = 0; i < batch.size(); ++i)
        encode(batch[i], *reinterpret_cast<char(*)[kRequestRecordBytes]>(buffer.data() + i * kRequestRecordBytes));
    std::lock_guard write_lock(write_mutex_);
    rotate_if_needed(buffer.size());
    size_t written = 0;
    bool ok = fd_ >= 0 && write_all(fd_, buffer.data(), buffer.size(), written);
    int write_errno = errno;
    if (!ok && written > 0) {
        // A partial write (disk full) would leave a torn record for every later reader: cut it
        // off again, unless another process has appended behind it meanwhile.
        off_t end = ::lseek(fd_, 0, SEEK_CUR);
        struct stat st {};
        if (end >= 0 && ::fstat(fd_, &st) == 0 && st.st_size == end) (void)::ftruncate(fd_, end - static_cast<off_t>(written));
    }
    std::lock_guard lock(mutex_);
    if (ok) {
        written_ += batch.size();
        warned_ = false;
        return;
    }
    dropped_ += batch.size();
    if (!warned_) {
        warned_ = true;
        spdlog::warn("request log {}: {} records not written: {}; serving goes on", options_.path.string(), batch.size(),
                     fd_ < 0 ? "no open file" : std::strerror(write_errno));
    }
}

void RequestLog::append(const RequestRecord &record) noexcept {
    std::lock_guard lock(mutex_);
    if (pending_.size() >= options_.max_pending) {
        ++dropped_;
        return;
    }
    try {
        pending_.push_back(record);
    } catch (...) {
        ++dropped_;
        return;
    }
    if (pending_.size() == 512) wake_.notify_one();
}

void RequestLog::flush() noexcept {
    std::vector<RequestRecord> batch;
    {
        std::lock_guard lock(mutex_);
        batch.swap(pending_);
    }
    try {
        write_batch(batch);
    } catch (...) {
        std::lock_guard lock(mutex_);
        dropped_ += batch.size();
    }
}

void RequestLog::run() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        wake_.wait_for(lock, std::chrono::seconds(1), [&] { return stopping_ || pending_.size() >= 512; });
        lock.unlock();
        flush();
        lock.lock();
    }
}

RequestLog::~RequestLog() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_one();
    if (writer_.joinable()) writer_.join();
    flush();
    if (fd_ >= 0) ::close(fd_);
}

uint64_t RequestLog::written() const {
    std::lock_guard lock(mutex_);
    return written_;
}

uint64_t RequestLog::dropped() const {
    std::lock_guard lock(mutex_);
    return dropped_;
}

} // namespace aicache::learning
