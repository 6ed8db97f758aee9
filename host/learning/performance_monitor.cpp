#include "learning/performance_monitor.hpp"

#include <cmath>

namespace aicache::learning {

uint64_t wall_clock_us() {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

void LatencyHistogram::add(uint32_t micros) noexcept {
    // Bucket b holds values up to 2^(b/4): 0-1 µs in bucket 0.
    size_t bucket = micros <= 1 ? 0 : static_cast<size_t>(std::ceil(4 * std::log2(double(micros))));
    counts_[std::min(bucket, kBuckets - 1)] += 1;
    ++total_;
}

uint32_t LatencyHistogram::percentile(double p) const noexcept {
    if (total_ == 0) return 0;
    const uint64_t rank = static_cast<uint64_t>(std::ceil(p * double(total_)));
    uint64_t seen = 0;
    for (size_t b = 0; b < kBuckets; ++b) {
        seen += counts_[b];
        if (seen >= std::max<uint64_t>(1, rank)) return static_cast<uint32_t>(std::min(4294967295.0, std::floor(std::exp2(double(b) / 4))));
    }
    return UINT32_MAX;
}

PerformanceMonitor::PerformanceMonitor(std::chrono::milliseconds window, size_t ring_capacity) : window_(window) {
    ring_.resize(std::max<size_t>(1, ring_capacity));
    reset_locked(wall_clock_us());
}

PerformanceMonitor::~PerformanceMonitor() { stop(); }

void PerformanceMonitor::reset_locked(uint64_t start_us) {
    open_ = WindowFigures{};
    open_.start_us = start_us;
    open_.end_us = start_us + static_cast<uint64_t>(window_.count()) * 1000;
    latency_.clear();
}

void PerformanceMonitor::record(const RequestRecord &r) noexcept {
    std::lock_guard lock(mutex_);
    ring_[ring_next_] = r;
    ring_next_ = (ring_next_ + 1) % ring_.size();
    ring_full_ = ring_full_ || ring_next_ == 0;
    ++open_.requests;
    switch (r.outcome) {
    case RequestOutcome::hit: ++open_.hits; break;
    case RequestOutcome::semantic_hit: ++open_.semantic_hits; break;
    case RequestOutcome::miss: ++open_.misses; break;
    case RequestOutcome::bypass: ++open_.bypasses; break;
    case RequestOutcome::error: ++open_.errors; break;
    }
    if (r.outcome != RequestOutcome::error) open_.tokens_answered += r.cost_tokens;
    if (r.outcome == RequestOutcome::hit || r.outcome == RequestOutcome::semantic_hit) open_.tokens_saved += r.cost_tokens;
    latency_.add(r.latency_us);
}

void PerformanceMonitor::feedback(bool right) noexcept {
    std::lock_guard lock(mutex_);
    ++(right ? open_.right_reports : open_.wrong_reports);
}

std::optional<WindowFigures> PerformanceMonitor::roll(uint64_t now_us, bool force) {
    std::lock_guard lock(mutex_);
    if (!force && now_us < open_.end_us) return std::nullopt;
    WindowFigures closed = open_;
    closed.end_us = std::min(now_us, open_.end_us);
    if (force) closed.end_us = now_us;
    closed.latency_p50_us = latency_.percentile(0.5);
    closed.latency_p99_us = latency_.percentile(0.99);
    // The next window starts where this one was due to end (or now, after an idle stretch).
    reset_locked(now_us >= open_.end_us + static_cast<uint64_t>(window_.count()) * 1000 || force ? now_us : open_.end_us);
    if (closed.requests == 0 && closed.wrong_reports == 0 && closed.right_reports == 0) return std::nullopt;
    return closed;
}

WindowFigures PerformanceMonitor::open_window() const {
    std::lock_guard lock(mutex_);
    WindowFigures w = open_;
    w.latency_p50_us = latency_.percentile(0.5);
    w.latency_p99_us = latency_.percentile(0.99);
    return w;
}

std::vector<RequestRecord> PerformanceMonitor::recent() const {
    std::lock_guard lock(mutex_);
    if (!ring_full_) return {ring_.begin(), ring_.begin() + long(ring_next_)};
    std::vector<RequestRecord> out(ring_.begin() + long(ring_next_), ring_.end());
    out.insert(out.end(), ring_.begin(), ring_.begin() + long(ring_next_));
    return out;
}

void PerformanceMonitor::start(std::function<void(const WindowFigures &)> sink) {
    sink_ = std::move(sink);
    roller_ = std::thread([this] {
        std::unique_lock lock(mutex_);
        while (!stopping_) {
            const auto due = std::chrono::system_clock::time_point(std::chrono::microseconds(open_.end_us));
            wake_.wait_until(lock, due, [this] { return stopping_; });
            if (stopping_) break;
            lock.unlock();
            if (auto closed = roll(wall_clock_us()); closed && sink_) sink_(*closed);
            lock.lock();
        }
    });
}

std::optional<WindowFigures> PerformanceMonitor::close_now() {
    auto closed = roll(wall_clock_us(), true);
    if (closed && sink_) sink_(*closed);
    return closed;
}

void PerformanceMonitor::stop() {
    {
        std::lock_guard lock(mutex_);
        if (stopping_) return;
        stopping_ = true;
    }
    wake_.notify_all();
    if (roller_.joinable()) roller_.join();
    if (sink_)
        if (auto last = roll(wall_clock_us(), true)) sink_(*last);
}

} // namespace aicache::learning
