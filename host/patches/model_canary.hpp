// Serving a new encoder checkpoint the way patches and parameters are installed: first on a
// canary share of the questions (cache::SemanticMatcher::start_canary: the new model embeds every
// cached question and matches its share while the serving model matches the rest), judged
// against the serving model on the same live traffic, then promoted (it matches every question,
// and becomes the learner's active checkpoint in the knowledge repository) or dropped at once when
// it falls behind. Every step is written to the audit log.
#pragma once

#include "cache/semantic_matcher.hpp"
#include "core/status.hpp"
#include "patches/audit.hpp"
#include "patches/canary_split.hpp"
#include "store/database.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <mutex>
#include <optional>
#include <string>

namespace aicache::patches {

// One window of a model canary, both sides' counts over it. A rollback when the canary is wrong
// significantly more often than the serving model among judged matches (one-sided two-proportion
// z-test at 95%, with at least 10 judged on the canary side), or when it serves a share of its
// questions from the cache more than `margin_points` below the serving model's without being
// significantly less often wrong; else the window passes. None until the canary side has seen
// `window_lookups` questions.
struct ModelWindowVerdict {
    bool passed = false;
    std::string why;
};
std::optional<ModelWindowVerdict> judge_model_window(const cache::MatchCounts &serving, const cache::MatchCounts &canary, const CanaryOptions &options);

class ModelCanary {
public:
    ModelCanary(cache::SemanticMatcher &matcher, AuditLog &audit, store::Database &db, std::filesystem::path checkpoints_dir);

    // Starts a canary of the learner's recorded checkpoint `checkpoint_id`.
    Expected<nlohmann::json> apply(int64_t checkpoint_id, const std::string &who, const CanaryOptions &options);
    // Ends a running canary as the operator says: the serving model goes on alone.
    Expected<nlohmann::json> rollback(const std::string &who);
    // Judges a running canary's next window once it has seen one. Call periodically.
    void tick();
    nlohmann::json status();
    void share_slot(CanarySlot *slot) { slot_ = slot; }

private:
    struct Canary {
        int64_t checkpoint = 0;
        CanaryOptions options;
        cache::ModelCanaryCounts judged; // at the end of the last window that passed
        uint64_t windows_passed = 0;
    };
    Status finish_locked(bool promote, const std::string &who, const std::string &why);

    cache::SemanticMatcher &matcher_;
    AuditLog &audit_;
    store::Database &db_;
    std::filesystem::path checkpoints_dir_;
    std::mutex mutex_;
    std::optional<Canary> canary_;
    std::string last_event_;
    CanarySlot *slot_ = nullptr;
};

} // namespace aicache::patches
