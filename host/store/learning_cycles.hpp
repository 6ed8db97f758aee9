// The knowledge repository's record of learning cycles: one row per cycle, written when it starts
// and completed when it ends (a cycle cut off by a crash stays "running" with its start time).
#pragma once

#include "core/status.hpp"
#include "store/database.hpp"

#include <optional>
#include <string>
#include <vector>

namespace aicache::store {

struct CycleRecord {
    int64_t id = 0;
    std::string trigger;     // "manual", "schedule", "drift: ..."
    std::string started_at, finished_at;
    std::string opportunity; // what it tried, e.g. "tune s3fifo parameters"
    std::string decision;    // running, applied, kept, skipped, failed
    std::string why;         // the decision in words
    std::string detail = "{}"; // JSON: trials, per-chunk gains, the test
};

class LearningCycles {
public:
    explicit LearningCycles(Database &db) : db_(db) {}
    Expected<int64_t> begin(const std::string &trigger, const std::string &opportunity);
    Status finish(int64_t id, const std::string &decision, const std::string &why, const std::string &detail_json);
    Expected<std::vector<CycleRecord>> recent(size_t count); // newest first
    Expected<std::optional<CycleRecord>> find(int64_t id);

private:
    Database &db_;
};

} // namespace aicache::store
