#include "patches/installer.hpp"

#include "core/files.hpp"
#include "core/hash.hpp"
#include "core/log.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <tuple>

namespace aicache::patches {

PatchInstaller::PatchInstaller(PatchPipeline &pipeline, cache::Cache &cache, std::string target, std::shared_ptr<jit::PatchLinker> linker)
    : pipeline_(pipeline), cache_(cache), target_(std::move(target)), linker_(std::move(linker)) {}

Expected<std::shared_ptr<const loader::PluginLibrary>> PatchInstaller::link(const store::PatchRecord &patch) {
    auto object = read_file(pipeline_.object_path(patch.object_sha256));
    if (!object) return object.error();
    // The file is the one that was trialled and signed for, or nothing is installed.
    if (sha256_hex(*object) != patch.object_sha256)
        return Status(Errc::corrupt, "patch #" + std::to_string(patch.id) + ": the stored object does not match its recorded hash");
    auto linked = linker_->link(*object, "patch-" + std::to_string(patch.id));
    if (!linked) return linked.error();
    auto library = loader::PluginLibrary::from_entry(reinterpret_cast<aicache_plugin_init_fn>(linked->entry), linked->owner,
                                                     "patch #" + std::to_string(patch.id) + " (" + patch.file_name + ")", patch.object_sha256);
    if (!library) return library.error();
    return std::shared_ptr<const loader::PluginLibrary>(*library);
}

Expected<nlohmann::json> PatchInstaller::install(int64_t id, const std::string &who, const CanaryOptions &options) {
    std::lock_guard lock(mutex_);
    if (canary_) return Status(Errc::busy, "patch #" + std::to_string(canary_->id) + " is on canary; wait for its verdict or roll it back");
    auto found = pipeline_.records().get(id);
    if (!found) return found.error();
    store::PatchRecord patch = *found;
    if (patch.state != store::PatchState::approved)
        return Status(Errc::invalid_argument, "patch #" + std::to_string(id) + " is " + store::to_string(patch.state) + ": only an approved patch is installed");
    if (patch.target != target_)
        return Status(Errc::invalid_argument, "patch #" + std::to_string(id) + " is for " + patch.target + "; this host serves " + target_);
    const uint32_t shards = cache_.shard_count();
    if (shards < 2) return Status(Errc::invalid_argument, "a canary needs at least 2 shards (serve --shards)");
    auto link_started = std::chrono::steady_clock::now();
    auto candidate = link(patch);
    if (!candidate) return candidate.error();
    const double link_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - link_started).count();

    std::vector<uint32_t> canary_shards = CanarySplit::choose(shards, options.share);
    auto previous = cache_.shard_policy(canary_shards.front());
    if (slot_ != nullptr)
        if (Status taken = slot_->take("patch #" + std::to_string(id)); !taken) return taken;
    auto swap_started = std::chrono::steady_clock::now();
    if (Status swapped = cache_.swap_policy_on(canary_shards, *candidate); !swapped) {
        if (slot_ != nullptr) slot_->release();
        return swapped;
    }
    const double swap_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - swap_started).count();
    Canary canary{id, options, CanarySplit(cache_, canary_shards, history_, options), *candidate, previous};
    canary_.emplace(std::move(canary));
    patch.state = store::PatchState::canary;
    if (Status updated = pipeline_.records().update(patch); !updated) return updated;
    nlohmann::json details = {{"shards", canary_->split.shards()}, {"of", shards}, {"window_lookups", options.window_lookups}, {"margin_points", options.margin_points},
                              {"object_sha256", patch.object_sha256}, {"link_ms", link_ms}, {"swap_ms", swap_ms}};
    if (auto logged = pipeline_.audit().append(who, "canary", "patch #" + std::to_string(id), details); !logged) return logged.error();
    last_event_ = "patch #" + std::to_string(id) + " on canary";
    spdlog::warn("patch #{} ({}) on canary: shards {} of {}", id, patch.file_name, canary_->split.shards().size(), shards);
    return details;
}

Status PatchInstaller::finish_canary_locked(bool promote, const std::string &who, const std::string &why) {
    Canary canary = std::move(*canary_);
    canary_.reset();
    if (slot_ != nullptr) slot_->release();
    if (history_ != nullptr) history_->restart();
    auto found = pipeline_.records().get(canary.id);
    if (!found) return found.error();
    store::PatchRecord patch = *found;
    if (promote) {
        if (Status swapped = cache_.swap_policy(canary.candidate); !swapped) return swapped;
        if (active_id_ != 0 && active_id_ != canary.id) {
            if (auto old = pipeline_.records().get(active_id_); old) {
                old->state = store::PatchState::retired;
                (void)pipeline_.records().update(*old);
                (void)pipeline_.audit().append(who, "retire", "patch #" + std::to_string(active_id_), {{"replaced_by", canary.id}});
            }
        } else {
            before_active_ = canary.previous;
        }
        active_id_ = canary.id;
        patch.state = store::PatchState::active;
    } else {
        if (Status swapped = cache_.swap_policy_on(canary.split.shards(), canary.previous); !swapped) return swapped;
        patch.state = store::PatchState::retired;
    }
    if (Status updated = pipeline_.records().update(patch); !updated) return updated;
    auto logged = pipeline_.audit().append(who, promote ? "promote" : "canary-rollback", "patch #" + std::to_string(canary.id), {{"why", why}});
    last_event_ = "patch #" + std::to_string(canary.id) + (promote ? " promoted: " : " rolled back: ") + why;
    spdlog::warn("{}", last_event_);
    return logged ? Status::ok() : logged.error();
}

void PatchInstaller::tick() {
    std::lock_guard lock(mutex_);
    if (!canary_) return;
    auto verdict = canary_->split.verdict(canary_->options);
    if (!verdict) return;
    if (Status done = finish_canary_locked(verdict->promote, "canary", verdict->why); !done) spdlog::error("canary verdict: {}", done.message());
}

Expected<nlohmann::json> PatchInstaller::rollback(int64_t id, const std::string &who) {
    std::lock_guard lock(mutex_);
    if (canary_ && canary_->id == id) {
        if (Status done = finish_canary_locked(false, who, "rolled back by " + who); !done) return done;
        return nlohmann::json{{"restored", "the canary shards' previous policy"}};
    }
    if (active_id_ != id) return Status(Errc::invalid_argument, "patch #" + std::to_string(id) + " is not installed on this host");
    if (!before_active_) return Status(Errc::internal, "nothing recorded to restore");
    if (Status swapped = cache_.swap_policy(before_active_); !swapped) return swapped;
    auto found = pipeline_.records().get(id);
    if (!found) return found.error();
    found->state = store::PatchState::retired;
    if (Status updated = pipeline_.records().update(*found); !updated) return updated;
    const std::string restored = before_active_->facts().name_and_version();
    active_id_ = 0;
    before_active_.reset();
    if (auto logged = pipeline_.audit().append(who, "rollback", "patch #" + std::to_string(id), {{"restored", restored}}); !logged) return logged.error();
    last_event_ = "patch #" + std::to_string(id) + " rolled back by " + who + " to " + restored;
    spdlog::warn("{}", last_event_);
    return nlohmann::json{{"restored", restored}};
}

nlohmann::json PatchInstaller::status() {
    std::lock_guard lock(mutex_);
    nlohmann::json out = {{"target", target_}, {"active_patch", active_id_}, {"last_event", last_event_}};
    if (canary_) {
        SplitCounts s = canary_->split.sides();
        out["canary"] = {{"patch", canary_->id}, {"shards", canary_->split.shards()}, {"canary_lookups", s.canary.lookups}, {"canary_hits", s.canary.hits},
                         {"rest_lookups", s.rest.lookups}, {"rest_hits", s.rest.hits}, {"window_lookups", canary_->options.window_lookups}};
    }
    return out;
}

void PatchInstaller::superseded(const std::string &by) {
    std::lock_guard lock(mutex_);
    int64_t id = canary_ ? canary_->id : active_id_;
    if (id == 0) return;
    if (canary_ && slot_ != nullptr) slot_->release();
    canary_.reset();
    active_id_ = 0;
    before_active_.reset();
    if (auto patch = pipeline_.records().get(id); patch) {
        patch->state = store::PatchState::retired;
        (void)pipeline_.records().update(*patch);
    }
    (void)pipeline_.audit().append("plugin-host", "superseded", "patch #" + std::to_string(id), {{"by", by}});
    last_event_ = "patch #" + std::to_string(id) + " superseded by plugin " + by;
    spdlog::warn("{}", last_event_);
}

Status PatchInstaller::restore_active() {
    std::lock_guard lock(mutex_);
    auto all = pipeline_.records().list();
    if (!all) return all.error();
    for (const auto &patch : *all) {
        if (patch.target != target_ || patch.state != store::PatchState::active) continue;
        auto library = link(patch);
        if (!library) return library.error().with_context("restoring active patch #" + std::to_string(patch.id));
        before_active_ = cache_.shard_policy(0);
        if (Status swapped = cache_.swap_policy(*library); !swapped) return swapped;
        active_id_ = patch.id;
        last_event_ = "patch #" + std::to_string(patch.id) + " restored after a restart";
        return Status::ok();
    }
    return Status::ok();
}

} // namespace aicache::patches
