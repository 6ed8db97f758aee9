// Applying new policy parameters to a running host the way patches are installed: first on a
// canary share of the shards, judged against the others on live traffic (patches/canary_split),
// then promoted to every shard, or rolled back at once when the canary's hit ratio falls behind by
// more than the margin. Every step is written to the audit log; a promoted set is kept in the
// knowledge repository (store/policy_parameters) and served again after a restart.
#pragma once

#include "cache/cache.hpp"
#include "core/status.hpp"
#include "patches/audit.hpp"
#include "patches/canary_split.hpp"
#include "store/database.hpp"

#include <nlohmann/json.hpp>

#include <functional>
#include <mutex>
#include <optional>
#include <string>

namespace aicache::patches {

class ParameterCanary {
public:
    ParameterCanary(cache::Cache &cache, AuditLog &audit, store::Database &db, std::string policy);

    // Starts a canary of `parameters` (a JSON object) on a share of the shards; with `library`, the
    // canary shards also swap to that policy (a policy choice), which every shard runs if promoted.
    Expected<nlohmann::json> apply(const nlohmann::json &parameters, const std::string &who, const CanaryOptions &options,
                                   std::shared_ptr<const loader::PluginLibrary> library = nullptr);
    // Ends a running canary as the operator says: the canary shards go back to what they ran.
    Expected<nlohmann::json> rollback(const std::string &who);
    // Judges a running canary once both sides have seen a window of lookups. Call periodically.
    void tick();
    nlohmann::json status();
    // Canaries started from now on are also judged against their shards' figures before the change
    // (since the last canary ended).
    void baseline_from(ShardHistory *history) { history_ = history; }
    // Canaries take `slot` first, so this host runs one at a time (patches and parameters alike).
    void share_slot(CanarySlot *slot) { slot_ = slot; }
    // Called with the promoted library when a policy swap is promoted to every shard: an installed
    // patch no longer serves (PatchInstaller::superseded), and new builds of it take the slot.
    void on_policy_promoted(std::function<void(const loader::PluginLibrary &)> call) { on_policy_promoted_ = std::move(call); }

private:
    struct Canary {
        std::string parameters;          // the object's text, as the cache keeps it
        std::string previous;            // what the canary shards ran before
        std::shared_ptr<const loader::PluginLibrary> library, previous_library; // the policy on canary, and the one before
        nlohmann::json parameters_json;
        CanaryOptions options;
        CanarySplit split;
        std::string who;
    };
    Status finish_locked(bool promote, const std::string &who, const std::string &why);

    cache::Cache &cache_;
    AuditLog &audit_;
    store::Database &db_;
    std::string policy_;
    std::mutex mutex_;
    std::optional<Canary> canary_;
    std::string last_event_;
    ShardHistory *history_ = nullptr; // restarted when a canary ends
    CanarySlot *slot_ = nullptr;
    std::function<void(const loader::PluginLibrary &)> on_policy_promoted_;
};

} // namespace aicache::patches
