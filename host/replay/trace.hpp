// Request traces for replays: read from files (oracleGeneral binary, plain keys) or generated.
#pragma once

#include "core/status.hpp"

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace aicache::replay {

struct Request {
    uint64_t time_us = 0;
    uint64_t id = 0;
    uint64_t size = 1; // bytes
    uint64_t cost = 1; // tokens saved by a hit
    bool operator==(const Request &) const = default;
};

struct Trace {
    std::string name;
    std::vector<Request> requests;
    uint64_t distinct_objects = 0;
    uint64_t footprint_bytes = 0; // sum of the sizes of distinct objects (first size seen)
};

// oracleGeneral: little-endian 24-byte records (u32 time s, u64 id, u32 size, i64 next access).
Expected<Trace> read_oracle_general(const std::filesystem::path &path);
// One key per line; decimal keys are used as ids, anything else is hashed. Every object has size 1.
Expected<Trace> read_key_lines(const std::filesystem::path &path);
// CSV with a header naming its columns (libCacheSim's style): time, obj_id, obj_size, cost in any
// order; next_access_vtime, op, tenant and ttl are accepted and ignored; other names are errors.
Expected<Trace> read_csv(const std::filesystem::path &path);
// aicache request logs (learning/request_log.hpp), in order: the requests that reached the cache,
// keyed by the cache's own key hash, sized and costed as they were answered.
Expected<Trace> read_request_logs(const std::vector<std::filesystem::path> &files);
// Chooses the reader: a data directory or a file with the request-log header -> request logs;
// then by name: *.bin / *oracleGeneral* -> binary, *.csv -> CSV, otherwise key lines.
Expected<Trace> read_trace(const std::filesystem::path &path);

// The built-in workload: LLM-answer-like objects (log-normal sizes, cost = tokens = size / 4)
// requested with Zipf popularity whose hot set drifts to other objects as time passes.
struct GeneratorOptions {
    uint64_t seed = 42;
    uint64_t requests = 1'000'000;
    uint64_t objects = 100'000;
    double zipf_alpha = 0.9;
    uint64_t drift_every = 100'000; // requests between hot-set shifts; 0 = no drift
    uint64_t drift_step = 2'500;    // how many ranks the popularity map rotates at each shift
    double requests_per_second = 200;
};
Trace generate_workload(const GeneratorOptions &options);

// Writes `trace` as CSV (time in seconds,obj_id,obj_size,cost), which read_csv reads back.
Status write_csv(const Trace &trace, const std::filesystem::path &path);

// Computes distinct_objects and footprint_bytes.
void summarize(Trace &trace);

} // namespace aicache::replay
