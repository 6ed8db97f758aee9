// The knowledge repository's record of patches: the source, the hashes of source and object,
// where the patch is in its lifecycle, the pipeline's report, and every operator's decision.
#pragma once

#include "core/status.hpp"
#include "store/database.hpp"

#include <optional>
#include <string>
#include <vector>

namespace aicache::store {

// Staged -> Validated -> Evaluated -> Approved -> Canary -> Active -> Retired, or Rejected.
enum class PatchState { staged, validated, evaluated, approved, canary, active, retired, rejected };
const char *to_string(PatchState state) noexcept;
std::optional<PatchState> patch_state_named(const std::string &name);

struct PatchRecord {
    int64_t id = 0;
    std::string target, file_name, note, source, source_sha256, object_sha256;
    PatchState state = PatchState::staged;
    std::string report = "{}"; // JSON: findings, compile log, trial figures
    std::string submitted_by, submitted_at;
};

struct PatchDecision {
    int64_t id = 0, patch_id = 0;
    std::string operator_name, public_key, decision, why, signature, at;
};

class PatchRecords {
public:
    explicit PatchRecords(Database &db) : db_(db) {}

    Expected<PatchRecord> insert(PatchRecord record);
    Status update(const PatchRecord &record); // state, object hash, report
    Expected<PatchRecord> get(int64_t id);
    Expected<std::vector<PatchRecord>> list();
    // The patch submitted for the same target just before this one, if any.
    Expected<std::optional<PatchRecord>> previous_for_target(const PatchRecord &record);

    Status add_decision(const PatchDecision &decision);
    Expected<std::vector<PatchDecision>> decisions(int64_t patch_id);

private:
    Database &db_;
};

} // namespace aicache::store
