// The request log: one compact fixed-size record per request the host answered (proxy or exec),
// appended to <data>/requests.arl, so recorded live traffic can be replayed through any policy
// (`aicache replay <data dir>`) and the learning cycles can learn from it.
//
// File format, version 1 (little-endian):
//   header  16 bytes: "AICRLOG\0", u32 format version (1), u32 record size (48)
//   record  48 bytes: u64 time (µs since the epoch), u64 key hash (the cache's key), u64 tenant hash,
//                     u32 answer bytes, u32 answer tokens, u32 latency µs, u32 upstream latency µs,
//                     u8 outcome, u8 source, u16 flags, u32 reserved (0)
// A reader takes the first 48 bytes of each record, so later versions may grow records.
//
// Writers append whole records with O_APPEND, so a `serve` and an offline `exec` can share one
// file. Records are buffered and written by a background thread at least once a second: the
// request path never waits on the disk. When the disk refuses (full, read-only) records are
// counted as dropped and the host keeps serving.
#pragma once

#include "core/status.hpp"

#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace aicache::learning {

enum class RequestOutcome : uint8_t { miss = 0, hit = 1, semantic_hit = 2, bypass = 3, error = 4 };
enum class RequestSource : uint8_t { proxy = 1, exec = 2 };
const char *to_string(RequestOutcome outcome) noexcept;

struct RequestRecord {
    static constexpr uint16_t kStored = 1;   // the answer was stored after a miss
    static constexpr uint16_t kStreamed = 2; // the client asked for a stream

    uint64_t time_us = 0;
    uint64_t key_hash = 0;
    uint64_t tenant_hash = 0;
    uint32_t size_bytes = 0;  // bytes of the answer (0 when there was none)
    uint32_t cost_tokens = 0; // tokens of the answer: what a hit saves
    uint32_t latency_us = 0;
    uint32_t upstream_latency_us = 0;
    RequestOutcome outcome = RequestOutcome::miss;
    RequestSource source = RequestSource::proxy;
    uint16_t flags = 0;

    // True for the requests a cache saw: looked up, and stored or served.
    [[nodiscard]] bool reached_cache() const noexcept {
        return outcome == RequestOutcome::miss || outcome == RequestOutcome::hit || outcome == RequestOutcome::semantic_hit;
    }
};

inline constexpr char kRequestLogMagic[8] = {'A', 'I', 'C', 'R', 'L', 'O', 'G', '\0'};
inline constexpr uint32_t kRequestLogVersion = 1;
inline constexpr size_t kRequestLogHeaderBytes = 16;
inline constexpr size_t kRequestRecordBytes = 48;

void encode(const RequestRecord &record, char (&out)[kRequestRecordBytes]) noexcept;

// Reads a whole log. A bad magic or version, or a truncated record, is an error naming the byte
// offset.
Expected<std::vector<RequestRecord>> read_request_log(const std::filesystem::path &path);
// True when the file starts with the request log's magic.
bool is_request_log(const std::filesystem::path &path);
// The log files of a data directory, oldest first: requests.N.arl ... requests.1.arl, requests.arl.
std::vector<std::filesystem::path> request_log_files(const std::filesystem::path &data_dir);

struct RequestLogOptions {
    std::filesystem::path path;          // usually <data>/requests.arl
    uint64_t max_bytes = 64ull << 20;    // rotate to requests.1.arl when the file would pass this
    unsigned keep = 4;                   // rotated files kept
    size_t max_pending = 1u << 16;       // records buffered while the disk is slow; more are dropped
};

class RequestLog {
public:
    // Creates the file with its header if needed (atomically, so two processes never both write
    // one); a file that is not a request log of this version is moved aside, never appended to.
    static Expected<std::unique_ptr<RequestLog>> open(RequestLogOptions options);
    ~RequestLog(); // writes what is pending
    RequestLog(const RequestLog &) = delete;
    RequestLog &operator=(const RequestLog &) = delete;

    // Never blocks on the disk; safe from any thread.
    void append(const RequestRecord &record) noexcept;
    // Writes everything pending now (tests, shutdown).
    void flush() noexcept;

    [[nodiscard]] uint64_t written() const;
    [[nodiscard]] uint64_t dropped() const;
    [[nodiscard]] const std::filesystem::path &path() const noexcept { return options_.path; }

private:
    explicit RequestLog(RequestLogOptions options) : options_(std::move(options)) {}
    Status open_file();
    void rotate_if_needed(size_t incoming_bytes);
    void write_batch(const std::vector<RequestRecord> &batch);
    void run();

    RequestLogOptions options_;
    int fd_ = -1; // used by the writer thread (and flush, under write_mutex_)
    std::mutex write_mutex_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::vector<RequestRecord> pending_;
    uint64_t written_ = 0, dropped_ = 0;
    bool warned_ = false;
    bool stopping_ = false;
    std::thread writer_;
};

} // namespace aicache::learning
