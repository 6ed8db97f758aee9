// The performance monitor: every answered request's record (the request log's, learning/
// request_log.hpp) also lands in a bounded ring of recent requests and in the open window of
// figures: requests by outcome, tokens answered and tokens saved by hits, latency percentiles,
// feedback (false hits reported). When a window's time is up it is closed and handed to a sink
// (serve writes it to the knowledge repository, store/monitor_windows). The learning coordinator
// reads windows to see what the cache is doing and whether it got worse.
#pragma once

#include "learning/request_log.hpp"
#include "store/monitor_windows.hpp"

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace aicache::learning {

// One closed window of figures (the struct lives with its table in the knowledge repository).
using WindowFigures = store::WindowFigures;

// Latencies in buckets a quarter of a power of two wide: percentiles within ~19% without keeping
// every sample.
class LatencyHistogram {
public:
    void add(uint32_t micros) noexcept;
    [[nodiscard]] uint32_t percentile(double p) const noexcept; // the bucket's upper edge; 0 when empty
    void clear() noexcept { counts_.fill(0), total_ = 0; }

private:
    static constexpr size_t kBuckets = 4 * 33;
    std::array<uint64_t, kBuckets> counts_{};
    uint64_t total_ = 0;
};

class PerformanceMonitor {
public:
    explicit PerformanceMonitor(std::chrono::milliseconds window, size_t ring_capacity = 1u << 16);
    ~PerformanceMonitor();
    PerformanceMonitor(const PerformanceMonitor &) = delete;
    PerformanceMonitor &operator=(const PerformanceMonitor &) = delete;

    void record(const RequestRecord &record) noexcept;
    void feedback(bool right) noexcept;
    // Closes the open window if `now_us` is past its end (or `force`), returning it; a window with
    // no request and no verdict is skipped (nothing happened).
    std::optional<WindowFigures> roll(uint64_t now_us, bool force = false);
    [[nodiscard]] WindowFigures open_window() const;
    [[nodiscard]] std::vector<RequestRecord> recent() const; // the ring, oldest first

    // Closes windows on a thread of its own, every window, handing each to `sink`; stop() closes
    // the last one.
    void start(std::function<void(const WindowFigures &)> sink);
    // Closes the open window now, before its time (an operator's or a driven workload's window
    // boundary), hands it to the sink and returns it; the next window starts now.
    std::optional<WindowFigures> close_now();
    void stop();

private:
    void reset_locked(uint64_t start_us);

    const std::chrono::milliseconds window_;
    mutable std::mutex mutex_;
    WindowFigures open_;
    LatencyHistogram latency_;
    std::vector<RequestRecord> ring_;
    size_t ring_next_ = 0;
    bool ring_full_ = false;

    std::function<void(const WindowFigures &)> sink_;
    std::thread roller_;
    std::condition_variable wake_;
    bool stopping_ = false;
};

uint64_t wall_clock_us();

} // namespace aicache::learning
