#include "cli/replay_table.hpp"

#include <fmt/format.h>

namespace aicache::cli {

std::string human_bytes(uint64_t bytes) {
    const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double value = double(bytes);
    int unit = 0;
    while (value >= 1024 && unit < 4) {
        value /= 1024;
        ++unit;
    }
    return unit == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.1f} {}", value, units[unit]);
}

std::string format_table(const replay::Trace &trace, const std::vector<ReplayRow> &rows) {
    std::string out = fmt::format("trace {}: {} requests, {} objects, footprint {}\n", trace.name, trace.requests.size(),
                                  trace.distinct_objects, human_bytes(trace.footprint_bytes));
    out += fmt::format("{:<18} {:>8} {:>12} {:>10} {:>10} {:>9} {:>10} {:>10} {:>10} {:>9}\n", "policy", "size", "capacity",
                       "requests", "hits", "hit%", "byte hit%", "cost hit%", "evictions", "Mreq/s");
    for (const ReplayRow &row : rows) {
        const replay::ReplayResult &r = row.result;
        out += fmt::format("{:<18} {:>8} {:>12} {:>10} {:>10} {:>8.2f}% {:>9.2f}% {:>9.2f}% {:>10} {:>9.2f}\n", r.policy,
                           row.size_label, r.capacity_in_objects ? fmt::format("{} obj", r.capacity_bytes) : human_bytes(r.capacity_bytes), r.requests, r.hits, 100 * r.hit_ratio(),
                           100 * r.byte_hit_ratio(), 100 * r.cost_hit_ratio(), r.evictions, r.requests_per_second() / 1e6);
    }
    return out;
}

nlohmann::json to_json(const replay::Trace &trace, const std::vector<ReplayRow> &rows) {
    nlohmann::json results = nlohmann::json::array();
    for (const ReplayRow &row : rows) {
        const replay::ReplayResult &r = row.result;
        results.push_back({{"policy", r.policy},
                           {"size", row.size_label},
                           {r.capacity_in_objects ? "capacity_objects" : "capacity_bytes", r.capacity_bytes},
                           {"requests", r.requests},
                           {"hits", r.hits},
                           {"hit_ratio", r.hit_ratio()},
                           {"bytes_requested", r.bytes_requested},
                           {"bytes_hit", r.bytes_hit},
                           {"byte_hit_ratio", r.byte_hit_ratio()},
                           {"cost_requested", r.cost_requested},
                           {"cost_hit", r.cost_hit},
                           {"cost_hit_ratio", r.cost_hit_ratio()},
                           {"evictions", r.evictions},
                           {"expirations", r.expirations},
                           {"refused", r.refused},
                           {"policy_errors", r.policy_errors},
                           {"warm_swaps", r.warm_swaps},
                           {"cold_swaps", r.cold_swaps},
                           {"seconds", r.seconds}});
        if (!r.chunk_hits.empty()) results.back()["chunk_hits"] = r.chunk_hits;
    }
    return {{"trace", {{"name", trace.name},
                       {"requests", trace.requests.size()},
                       {"objects", trace.distinct_objects},
                       {"footprint_bytes", trace.footprint_bytes}}},
            {"results", results}};
}

} // namespace aicache::cli
