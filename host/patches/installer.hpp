// Installs approved patches into the running host: the object is linked with ORC (allowlisted
// symbols only), run first on a canary share of the cache's shards, and judged on live traffic:
// when the canary shards' hit ratio falls behind the other shards' by more than a margin over a
// window of lookups it is rolled back at once; otherwise it is promoted to every shard. An active
// patch can be rolled back by an operator; its code is removed when the last shard lets go.
#pragma once

#include "aicache/jit/patch_linker.hpp"
#include "cache/cache.hpp"
#include "core/status.hpp"
#include "patches/canary_split.hpp"
#include "patches/pipeline.hpp"

#include <nlohmann/json.hpp>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace aicache::patches {

class PatchInstaller {
public:
    // `target`: the policy slot this host serves; only patches for it are installed here.
    PatchInstaller(PatchPipeline &pipeline, cache::Cache &cache, std::string target, std::shared_ptr<jit::PatchLinker> linker);

    Expected<nlohmann::json> install(int64_t id, const std::string &who, const CanaryOptions &options);
    Expected<nlohmann::json> rollback(int64_t id, const std::string &who);
    nlohmann::json status();
    // Judges a running canary once both sides have seen a window of lookups. Call periodically.
    void tick();
    // After a restart: puts the target's active patch back on every shard.
    Status restore_active();
    // A plugin version is about to take every shard (`by`): the installed patch, if any, is retired.
    void superseded(const std::string &by);
    // Canaries started from now on are also judged against their shards' figures before the change
    // (since the last canary ended).
    void baseline_from(ShardHistory *history) { history_ = history; }
    // Canaries take `slot` first, so this host runs one at a time (patches and parameters alike).
    void share_slot(CanarySlot *slot) { slot_ = slot; }

private:
    struct Canary {
        int64_t id = 0;
        CanaryOptions options;
        CanarySplit split;
        std::shared_ptr<const loader::PluginLibrary> candidate;
        std::shared_ptr<const loader::PluginLibrary> previous;
    };
    Expected<std::shared_ptr<const loader::PluginLibrary>> link(const store::PatchRecord &patch);
    Status finish_canary_locked(bool promote, const std::string &who, const std::string &why);

    PatchPipeline &pipeline_;
    cache::Cache &cache_;
    std::string target_;
    std::shared_ptr<jit::PatchLinker> linker_;
    std::mutex mutex_;
    std::optional<Canary> canary_;
    int64_t active_id_ = 0;
    std::shared_ptr<const loader::PluginLibrary> before_active_; // what an operator's rollback restores
    std::string last_event_;
    ShardHistory *history_ = nullptr; // restarted when a canary ends
    CanarySlot *slot_ = nullptr;
};

} // namespace aicache::patches
