#include "server/metrics.hpp"

#include <fmt/format.h>

namespace aicache::server {

void Metrics::request(bool chat, Outcome outcome) noexcept {
    requests_[chat ? 0 : 1][static_cast<int>(outcome)].fetch_add(1, std::memory_order_relaxed);
}

void Metrics::served_from_cache(uint64_t bytes, uint64_t tokens) noexcept {
    bytes_from_cache_.fetch_add(bytes, std::memory_order_relaxed);
    tokens_saved_.fetch_add(tokens, std::memory_order_relaxed);
}

void Metrics::upstream_latency(double seconds) noexcept {
    size_t i = 0;
    while (i < kBuckets.size() && seconds > kBuckets[i]) ++i;
    latency_buckets_[i].fetch_add(1, std::memory_order_relaxed);
    latency_count_.fetch_add(1, std::memory_order_relaxed);
    latency_sum_us_.fetch_add(static_cast<uint64_t>(seconds * 1e6), std::memory_order_relaxed);
}

std::string Metrics::render(const cache::CacheStats &cache, const std::string &plugin_labels) const {
    std::string out;
    auto load = [](const std::atomic<uint64_t> &a) { return a.load(std::memory_order_relaxed); };
    out += "# HELP aicache_requests_total Proxy requests by endpoint and outcome (x-aicache).\n"
           "# TYPE aicache_requests_total counter\n";
    const char *endpoints[] = {"chat/completions", "completions"};
    const char *outcomes[] = {"hit", "miss", "bypass", "error"};
    for (int e = 0; e < 2; ++e)
        for (int o = 0; o < 4; ++o)
            out += fmt::format("aicache_requests_total{{endpoint=\"{}\",outcome=\"{}\"}} {}\n", endpoints[e], outcomes[o], load(requests_[e][o]));
    out += "# HELP aicache_cache_hits_total Answers served from the cache, by kind of match.\n"
           "# TYPE aicache_cache_hits_total counter\n";
    out += fmt::format("aicache_cache_hits_total{{kind=\"exact\"}} {}\n", load(requests_[0][0]) + load(requests_[1][0]));
    out += "# HELP aicache_cache_misses_total Requests forwarded upstream that could have been cached.\n"
           "# TYPE aicache_cache_misses_total counter\n";
    out += fmt::format("aicache_cache_misses_total {}\n", load(requests_[0][1]) + load(requests_[1][1]));
    out += "# HELP aicache_bytes_served_from_cache_total Answer bytes sent from the cache.\n"
           "# TYPE aicache_bytes_served_from_cache_total counter\n";
    out += fmt::format("aicache_bytes_served_from_cache_total {}\n", load(bytes_from_cache_));
    out += "# HELP aicache_tokens_saved_total Tokens of answers served from the cache instead of upstream.\n"
           "# TYPE aicache_tokens_saved_total counter\n";
    out += fmt::format("aicache_tokens_saved_total {}\n", load(tokens_saved_));
    out += "# HELP aicache_upstream_errors_total Upstream calls that failed (unreachable, timeout, bad answer).\n"
           "# TYPE aicache_upstream_errors_total counter\n";
    out += fmt::format("aicache_upstream_errors_total {}\n", load(upstream_errors_));
    out += "# HELP aicache_store_failures_total Answers that could not be written to the durable store.\n"
           "# TYPE aicache_store_failures_total counter\n";
    out += fmt::format("aicache_store_failures_total {}\n", load(store_failures_));
    out += "# HELP aicache_upstream_latency_seconds Time from forwarding a request to the end of the upstream answer.\n"
           "# TYPE aicache_upstream_latency_seconds histogram\n";
    uint64_t cumulative = 0;
    for (size_t i = 0; i < kBuckets.size(); ++i) {
        cumulative += load(latency_buckets_[i]);
        out += fmt::format("aicache_upstream_latency_seconds_bucket{{le=\"{}\"}} {}\n", kBuckets[i], cumulative);
    }
    cumulative += load(latency_buckets_[kBuckets.size()]);
    out += fmt::format("aicache_upstream_latency_seconds_bucket{{le=\"+Inf\"}} {}\n", cumulative);
    out += fmt::format("aicache_upstream_latency_seconds_sum {:.6f}\n", double(load(latency_sum_us_)) / 1e6);
    out += fmt::format("aicache_upstream_latency_seconds_count {}\n", load(latency_count_));
    out += "# HELP aicache_evictions_total Entries evicted by the cache policy.\n# TYPE aicache_evictions_total counter\n";
    out += fmt::format("aicache_evictions_total {}\n", cache.evictions);
    out += "# HELP aicache_cache_entries Entries in the cache.\n# TYPE aicache_cache_entries gauge\n";
    out += fmt::format("aicache_cache_entries {}\n", cache.entries);
    out += "# HELP aicache_cache_bytes Bytes used and the capacity.\n# TYPE aicache_cache_bytes gauge\n";
    out += fmt::format("aicache_cache_bytes{{kind=\"used\"}} {}\naicache_cache_bytes{{kind=\"capacity\"}} {}\n", cache.bytes_used,
                       cache.capacity_bytes);
    out += "# HELP aicache_plugin_info The active plugin versions.\n# TYPE aicache_plugin_info gauge\n";
    out += fmt::format("aicache_plugin_info{{{}}} 1\n", plugin_labels);
    return out;
}

} // namespace aicache::server
