#include "cli/demo_driver.hpp"

#include "server/http_client.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <mutex>
#include <thread>

namespace aicache::cli {

std::string question_body(const replay::Request &question) {
    const std::string prompt = fmt::format("question {}: how do I do this in our codebase? SIZE={}", question.id, question.size);
    return nlohmann::json{{"model", "demo"}, {"temperature", 0}, {"messages", {{{"role", "user"}, {"content", prompt}}}}}.dump();
}

std::vector<DrivenFigures> drive(const std::vector<replay::Request> &requests, size_t first, size_t last, const std::vector<uint16_t> &ports,
                                 unsigned connections_per_host, const std::function<void(uint64_t done, uint64_t total)> &progress) {
    last = std::min(last, requests.size());
    const unsigned per_host = std::max(1u, connections_per_host);
    std::vector<DrivenFigures> figures(ports.size());
    std::mutex mutex;
    std::atomic<uint64_t> done{0};
    const uint64_t total = uint64_t(last - first) * ports.size();
    // Connection c of a host takes requests first+c, first+c+per_host, ...: near the workload's order.
    std::vector<std::thread> threads;
    for (size_t h = 0; h < ports.size(); ++h)
        for (unsigned c = 0; c < per_host; ++c)
            threads.emplace_back([&, h, c] {
                server::HttpConnection connection("127.0.0.1", ports[h]);
                DrivenFigures mine;
                for (size_t i = first + c; i < last; i += per_host) {
                    auto reply = connection.post("/v1/chat/completions", question_body(requests[i]));
                    ++mine.requests;
                    if (!reply || reply->status != 200) {
                        ++mine.errors;
                        if (mine.first_error.empty())
                            mine.first_error = reply ? fmt::format("HTTP {}: {}", reply->status, reply->body.substr(0, 200)) : reply.error().message();
                    } else if (reply->cache_outcome == "hit" || reply->cache_outcome == "semantic-hit") {
                        ++mine.hits;
                    }
                    done.fetch_add(1, std::memory_order_relaxed);
                }
                std::lock_guard lock(mutex);
                figures[h].requests += mine.requests;
                figures[h].hits += mine.hits;
                figures[h].errors += mine.errors;
                if (figures[h].first_error.empty()) figures[h].first_error = mine.first_error;
            });
    if (progress)
        while (done.load() < total) {
            progress(done.load(), total);
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    for (auto &t : threads) t.join();
    if (progress) progress(total, total);
    return figures;
}

} // namespace aicache::cli
