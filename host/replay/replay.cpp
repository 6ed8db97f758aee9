#include "replay/replay.hpp"

#include "core/hash.hpp"
#include "replay/simulator.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>

namespace aicache::replay {

namespace {

// The key the cache would give the object: the hash of its id's bytes, so that policies see the
// same keys in a replay as in the data plane (sketches and random draws depend on them).
uint64_t key_of(uint64_t id, char (&bytes)[8]) {
    std::memcpy(bytes, &id, 8);
    return hash_key(std::string_view(bytes, 8));
}

// A hit on request i of the `end` replayed, counted when it is measured (and in its chunk).
void count_hit(const ReplayOptions &options, uint64_t i, uint64_t end, const Request &r, ReplayResult &result) {
    if (i < options.measure_from) return;
    ++result.hits;
    result.bytes_hit += r.size;
    result.cost_hit += r.cost;
    if (!result.chunk_hits.empty()) result.chunk_hits[(i - options.measure_from) * result.chunk_hits.size() / (end - options.measure_from)] += 1;
}

// Through the data plane's own cache: several shards, or a policy swap mid-run.
Status replay_through_cache(const Trace &trace, std::shared_ptr<const loader::PluginLibrary> policy,
                            const ReplayOptions &options, ReplayResult &result) {
    cache::CacheConfig config;
    config.capacity_bytes = options.capacity_bytes;
    config.shards = options.shards;
    config.policy_parameters = options.policy_parameters;
    auto created = cache::Cache::create(config, policy);
    if (!created) return created.error();
    cache::Cache &cache = **created;
    const uint64_t total = std::min<uint64_t>(trace.requests.size(), options.measure_to);
    for (uint64_t i = 0; i < total; ++i) {
        if (options.swap_to && i == options.swap_after) {
            if (Status swapped = cache.swap_policy(options.swap_to); !swapped) return swapped;
        }
        const Request &r = trace.requests[i];
        char key_bytes[8];
        cache::KeyView key{key_of(r.id, key_bytes), std::string_view(key_bytes, 8)};
        if (cache.lookup(key, r.time_us).hit) {
            count_hit(options, i, total, r, result);
        } else {
            cache::InsertRequest insert;
            insert.key = key;
            insert.size_bytes = options.count_objects ? 1 : r.size;
            insert.cost = r.cost;
            (void)cache.insert(insert, r.time_us);
        }
        if (options.progress && (i & 0xFFFF) == 0) options.progress(i, total);
    }
    cache::CacheStats stats = cache.stats();
    result.evictions = stats.evictions;
    result.expirations = stats.expirations;
    result.refused = stats.refused;
    result.policy_errors = stats.policy_errors;
    result.warm_swaps = stats.warm_swaps;
    result.cold_swaps = stats.cold_swaps;
    return Status::ok();
}

// Through the lean single-partition model (replay/simulator.hpp): the same policy calls, faster.
Status replay_through_simulator(const Trace &trace, std::shared_ptr<const loader::PluginLibrary> policy,
                                const ReplayOptions &options, ReplayResult &result) {
    auto created = Simulator::create(std::move(policy), options.capacity_bytes, options.policy_parameters);
    if (!created) return created.error();
    Simulator &simulator = *created;
    const uint64_t total = std::min<uint64_t>(trace.requests.size(), options.measure_to);
    for (uint64_t i = 0; i < total; ++i) {
        const Request &r = trace.requests[i];
        char key_bytes[8];
        uint64_t key = key_of(r.id, key_bytes);
        if (simulator.lookup(key, r.time_us)) {
            count_hit(options, i, total, r, result);
        } else {
            simulator.insert(key, options.count_objects ? 1 : r.size, r.cost, r.time_us);
        }
        if (options.progress && (i & 0xFFFF) == 0) options.progress(i, total);
    }
    result.evictions = simulator.counters().evictions;
    result.expirations = simulator.counters().expirations;
    result.refused = simulator.counters().refused;
    result.policy_errors = simulator.counters().policy_errors;
    return Status::ok();
}

} // namespace

Expected<ReplayResult> run_replay(const Trace &trace, std::shared_ptr<const loader::PluginLibrary> policy,
                                  const ReplayOptions &options) {
    ReplayResult result;
    result.policy = policy->facts().name;
    if (options.swap_to) result.policy += "->" + options.swap_to->facts().name;
    result.capacity_bytes = options.capacity_bytes;
    result.capacity_in_objects = options.count_objects;
    const uint64_t end = std::min<uint64_t>(trace.requests.size(), options.measure_to);
    if (options.chunks > 0 && options.measure_from < end) result.chunk_hits.assign(options.chunks, 0);
    for (uint64_t i = std::min(options.measure_from, end); i < end; ++i) {
        ++result.requests;
        result.bytes_requested += trace.requests[i].size;
        result.cost_requested += trace.requests[i].cost;
    }
    const bool through_cache = options.shards != 1 || options.swap_to || options.engine == Engine::cache;
    auto start = std::chrono::steady_clock::now();
    Status replayed = through_cache ? replay_through_cache(trace, std::move(policy), options, result)
                                    : replay_through_simulator(trace, std::move(policy), options, result);
    if (!replayed) return replayed;
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (options.progress) options.progress(end, end);
    return result;
}

Expected<CacheSize> parse_cache_size(const std::string &text, const Trace &trace) {
    const std::string suffix = "obj";
    if (text.size() > suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0) {
        auto count = parse_capacity(text.substr(0, text.size() - suffix.size()), trace.distinct_objects);
        if (!count) return Status(Errc::invalid_argument, "size \"" + text + "\": expected a number of objects (5000obj) or a share of them (10%obj)");
        return CacheSize{*count, true};
    }
    auto bytes = parse_capacity(text, trace.footprint_bytes);
    if (!bytes) return bytes.error();
    return CacheSize{*bytes, false};
}

const char *to_string(Objective objective) noexcept { return objective == Objective::tokens ? "tokens" : "hits"; }

const char *figure_of(Objective objective) noexcept { return objective == Objective::tokens ? "tokens saved" : "hit ratio"; }

Expected<uint64_t> parse_capacity(const std::string &text, uint64_t footprint_bytes) {
    auto bad = [&] {
        return Status(Errc::invalid_argument, "size \"" + text + "\": expected bytes (4096, 64KiB, 2MiB, 1GiB), a share of the footprint (10%), or objects (5000obj, 10%obj)");
    };
    if (text.empty()) return bad();
    char *end = nullptr;
    double number = std::strtod(text.c_str(), &end);
    if (end == text.c_str() || !(number > 0) || !std::isfinite(number)) return bad();
    std::string unit(end);
    double bytes;
    if (unit == "%") {
        if (footprint_bytes == 0) return Status(Errc::invalid_argument, "size \"" + text + "\": the trace has no footprint to take a share of");
        bytes = number / 100.0 * double(footprint_bytes);
    } else if (unit.empty() || unit == "B") bytes = number;
    else if (unit == "K" || unit == "KiB") bytes = number * 1024;
    else if (unit == "M" || unit == "MiB") bytes = number * 1024 * 1024;
    else if (unit == "G" || unit == "GiB") bytes = number * 1024 * 1024 * 1024;
    else return bad();
    if (bytes < 1) bytes = 1;
    return static_cast<uint64_t>(bytes);
}

} // namespace aicache::replay
