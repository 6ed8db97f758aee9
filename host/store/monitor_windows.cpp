#include "store/monitor_windows.hpp"

#include <algorithm>

namespace aicache::store {

nlohmann::json to_json(const WindowFigures &w) {
    return {{"start_us", w.start_us}, {"end_us", w.end_us}, {"requests", w.requests}, {"hits", w.hits},
            {"semantic_hits", w.semantic_hits}, {"misses", w.misses}, {"bypasses", w.bypasses}, {"errors", w.errors},
            {"hit_ratio", w.hit_ratio()}, {"tokens_answered", w.tokens_answered}, {"tokens_saved", w.tokens_saved},
            {"wrong_reports", w.wrong_reports}, {"right_reports", w.right_reports},
            {"latency_p50_us", w.latency_p50_us}, {"latency_p99_us", w.latency_p99_us}};
}

WindowFigures window_from_json(const nlohmann::json &j) {
    auto u = [&j](const char *name) { return j.value(name, uint64_t(0)); };
    WindowFigures w;
    w.start_us = u("start_us"), w.end_us = u("end_us"), w.requests = u("requests"), w.hits = u("hits"), w.semantic_hits = u("semantic_hits");
    w.misses = u("misses"), w.bypasses = u("bypasses"), w.errors = u("errors"), w.tokens_answered = u("tokens_answered"), w.tokens_saved = u("tokens_saved");
    w.wrong_reports = u("wrong_reports"), w.right_reports = u("right_reports");
    w.latency_p50_us = static_cast<uint32_t>(u("latency_p50_us")), w.latency_p99_us = static_cast<uint32_t>(u("latency_p99_us"));
    return w;
}

Status MonitorWindows::add(const WindowFigures &w) {
    auto i = [](uint64_t v) { return SqlValue(static_cast<int64_t>(v)); };
    auto stored = db_.query("INSERT INTO monitor_windows(start_us, end_us, requests, hits, semantic_hits, misses, bypasses, errors, "
                            "tokens_answered, tokens_saved, wrong_reports, right_reports, latency_p50_us, latency_p99_us) "
                            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            {i(w.start_us), i(w.end_us), i(w.requests), i(w.hits), i(w.semantic_hits), i(w.misses), i(w.bypasses), i(w.errors),
                             i(w.tokens_answered), i(w.tokens_saved), i(w.wrong_reports), i(w.right_reports), i(w.latency_p50_us),
                             i(w.latency_p99_us)});
    return stored ? Status::ok() : stored.error().with_context("monitor window");
}

Expected<std::vector<WindowFigures>> MonitorWindows::recent(size_t count) {
    auto rows = db_.query("SELECT start_us, end_us, requests, hits, semantic_hits, misses, bypasses, errors, tokens_answered, tokens_saved, "
                          "wrong_reports, right_reports, latency_p50_us, latency_p99_us FROM monitor_windows ORDER BY end_us DESC, id DESC LIMIT ?",
                          {static_cast<int64_t>(count)});
    if (!rows) return rows.error();
    std::vector<WindowFigures> out;
    for (const auto &r : *rows) {
        auto u = [&](size_t c) { return static_cast<uint64_t>(as_int(r[c])); };
        WindowFigures w;
        w.start_us = u(0), w.end_us = u(1), w.requests = u(2), w.hits = u(3), w.semantic_hits = u(4), w.misses = u(5), w.bypasses = u(6);
        w.errors = u(7), w.tokens_answered = u(8), w.tokens_saved = u(9), w.wrong_reports = u(10), w.right_reports = u(11);
        w.latency_p50_us = static_cast<uint32_t>(u(12)), w.latency_p99_us = static_cast<uint32_t>(u(13));
        out.push_back(w);
    }
    std::reverse(out.begin(), out.end());
    return out;
}

} // namespace aicache::store
