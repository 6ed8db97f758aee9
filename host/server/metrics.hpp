// Counters and histograms of the data plane, rendered in the Prometheus text format for
// GET /metrics. Lock-free: request threads only add to atomics.
#pragma once

#include "cache/cache.hpp"

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

namespace aicache::server {

enum class Outcome { hit, miss, bypass, error };

class Metrics {
public:
    void request(bool chat, Outcome outcome) noexcept;
    void served_from_cache(uint64_t bytes, uint64_t tokens) noexcept;
    void upstream_latency(double seconds) noexcept;
    void upstream_error() noexcept { upstream_errors_.fetch_add(1, std::memory_order_relaxed); }
    void store_failure() noexcept { store_failures_.fetch_add(1, std::memory_order_relaxed); }

    // plugin_labels: the active policy's name/version/sha256 as Prometheus labels.
    [[nodiscard]] std::string render(const cache::CacheStats &cache, const std::string &plugin_labels) const;

private:
    static constexpr std::array<double, 13> kBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
    std::atomic<uint64_t> requests_[2][4] = {};
    std::atomic<uint64_t> bytes_from_cache_{0}, tokens_saved_{0}, upstream_errors_{0}, store_failures_{0};
    std::atomic<uint64_t> latency_buckets_[kBuckets.size() + 1] = {};
    std::atomic<uint64_t> latency_count_{0};
    std::atomic<uint64_t> latency_sum_us_{0};
};

} // namespace aicache::server
