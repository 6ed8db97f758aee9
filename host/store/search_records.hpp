// The knowledge repository's record of optimizer searches: each search's optimizer, search space,
// how its candidates are measured, the optimizer's saved state, and every trial (the candidate,
// the patch it became, the measured score and the data it was measured on).
#pragma once

#include "core/status.hpp"
#include "store/database.hpp"

#include <optional>
#include <string>
#include <vector>

namespace aicache::store {

struct SearchRecord {
    int64_t id = 0;
    std::string name, optimizer, optimizer_version, optimizer_sha256;
    std::string space = "{}";      // JSON handed to the optimizer's on_create
    std::string evaluation = "{}"; // JSON: how candidates are measured (a resumed search must measure the same way)
    std::string state_format, state; // the optimizer's on_save_state after the last told trial (bytes)
    std::string created_at, updated_at;
};

struct TrialRecord {
    int64_t id = 0, search_id = 0, number = 0;
    std::string candidate; // JSON as the optimizer asked it
    std::optional<int64_t> patch_id;
    std::string outcome;   // "evaluated", "rejected: validate", "repeat of #3", ...
    double score = 0;
    std::string split;     // the data the score was measured on
    std::string detail = "{}";
    double seconds = 0;
    std::string finished_at;
};

class SearchRecords {
public:
    explicit SearchRecords(Database &db) : db_(db) {}

    Expected<std::optional<SearchRecord>> find(const std::string &name);
    Expected<SearchRecord> create(SearchRecord record);
    Expected<std::vector<SearchRecord>> list();
    // The trial and the optimizer's state after it was told, in one transaction: a crash leaves
    // both or neither, so a resumed search never tells a trial twice or forgets one.
    Expected<TrialRecord> record_trial(TrialRecord trial, const std::string &state_after, const std::string &optimizer_version);
    Expected<std::vector<TrialRecord>> trials(int64_t search_id);

private:
    Database &db_;
};

} // namespace aicache::store
