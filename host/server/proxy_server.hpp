// The OpenAI-compatible caching proxy (Boost.Beast over Asio, C++20 coroutines):
//   POST /v1/chat/completions, POST /v1/completions   streamed (SSE) or not, answered from the cache or upstream
//   POST /v1/aicache/feedback                   a client's verdict on an answer (server/feedback.hpp)
//   GET  /healthz, GET /metrics
// Beast and Asio stay inside proxy_server.cpp; this header is all the rest of the host sees.
#pragma once

#include "cache/durable_cache.hpp"
#include "cache/semantic_matcher.hpp"
#include "core/status.hpp"
#include "learning/performance_monitor.hpp"
#include "learning/request_log.hpp"
#include "server/canonical_request.hpp"
#include "server/feedback.hpp"
#include "server/metrics.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

namespace aicache::server {

struct UpstreamUrl {
    bool tls = false;
    std::string host;
    std::string port;
    std::string base_path; // e.g. "/v1": the proxy forwards /v1/chat/completions to base_path + "/chat/completions"
    static Expected<UpstreamUrl> parse(const std::string &url);
};

struct ProxyConfig {
    std::string listen_address = "127.0.0.1";
    uint16_t port = 8080;                     // 0: any free port (see ProxyServer::port)
    std::string upstream;                     // base URL, e.g. https://api.openai.com/v1
    size_t max_body_bytes = 4u << 20;
    std::chrono::milliseconds upstream_timeout{120'000};
    CanonicalOptions canonical;
    uint64_t default_ttl_seconds = 0;               // 0: answers do not expire
    std::map<std::string, uint64_t> tenant_ttl_seconds; // per namespace, over the default
    unsigned threads = 2;
};

class ProxyServer {
public:
    // describe_plugins: Prometheus labels of the active policy, read for each /metrics.
    ProxyServer(ProxyConfig config, cache::DurableCache &cache, Metrics &metrics, std::function<std::string()> describe_plugins);
    ~ProxyServer();
    ProxyServer(const ProxyServer &) = delete;
    ProxyServer &operator=(const ProxyServer &) = delete;

    // Every answered request leaves a record in `log` (which must outlive the server). Call before start().
    void record_requests_to(learning::RequestLog *log);
    // Every answered request and feedback verdict also goes to the performance monitor.
    void monitor_with(learning::PerformanceMonitor *monitor);
    // Answers paraphrases of cached questions through `matcher` (which must outlive the server);
    // null (the default): exact matches only. Call before start().
    void match_semantically_with(cache::SemanticMatcher *matcher);
    Status start();
    void stop();
    [[nodiscard]] uint16_t port() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace aicache::server
