#include "replay/belady.hpp"

#include <chrono>
#include <limits>
#include <set>
#include <unordered_map>

namespace aicache::replay {

ReplayResult run_belady(const Trace &trace, uint64_t capacity_bytes, bool count_objects) {
    constexpr uint64_t kNever = std::numeric_limits<uint64_t>::max();
    const auto &requests = trace.requests;
    const size_t n = requests.size();
    auto start = std::chrono::steady_clock::now();

    // next[i]: the index of the next request for the same object, or kNever.
    std::vector<uint64_t> next(n, kNever);
    {
        std::unordered_map<uint64_t, uint64_t> seen;
        seen.reserve(trace.distinct_objects + 1);
        for (size_t i = n; i-- > 0;) {
            auto [it, fresh] = seen.try_emplace(requests[i].id, i);
            if (!fresh) {
                next[i] = it->second;
                it->second = i;
            }
        }
    }

    struct Resident {
        uint64_t size;
        uint64_t next_use;
    };
    std::unordered_map<uint64_t, Resident> resident;
    std::set<std::pair<uint64_t, uint64_t>> by_next_use; // (next use, id); the last one leaves first
    uint64_t used = 0;
    ReplayResult result;
    result.policy = "belady";
    result.capacity_bytes = capacity_bytes;
    result.capacity_in_objects = count_objects;
    for (size_t i = 0; i < n; ++i) {
        const Request &r = requests[i];
        result.bytes_requested += r.size;
        result.cost_requested += r.cost;
        if (auto it = resident.find(r.id); it != resident.end()) {
            ++result.hits;
            result.bytes_hit += r.size;
            result.cost_hit += r.cost;
            by_next_use.erase({it->second.next_use, r.id});
            it->second.next_use = next[i];
            if (next[i] == kNever) { // never needed again: free the room now
                used -= it->second.size;
                resident.erase(it);
                ++result.evictions;
            } else {
                by_next_use.insert({next[i], r.id});
            }
            continue;
        }
        const uint64_t size = count_objects ? 1 : r.size;
        if (next[i] == kNever || size > capacity_bytes) continue; // not worth a byte
        while (used + size > capacity_bytes) {
            auto furthest = std::prev(by_next_use.end());
            if (furthest->first <= next[i]) break; // everything resident is needed sooner
            used -= resident[furthest->second].size;
            resident.erase(furthest->second);
            by_next_use.erase(furthest);
            ++result.evictions;
        }
        if (used + size > capacity_bytes) continue;
        resident.emplace(r.id, Resident{size, next[i]});
        by_next_use.insert({next[i], r.id});
        used += size;
    }
    result.requests = n;
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return result;
}

} // namespace aicache::replay
